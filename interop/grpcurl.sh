#!/usr/bin/env bash
# Interop scenario for grpcurl: runs the commands of grpcurl-commands.sh (the
# "Debugging with grpcurl" page, docs/grpcurl.md, which must be identical) one step
# at a time against ADDRESS, and checks what each prints. Prints one
# "STEP grpcurl <name> PASS|FAIL" line per step; exits 1 on any mismatch.
# Usage: grpcurl.sh HOST:PORT
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
address=$1
export PATH="$here/../.tools/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

step() { # name ok detail
  if [ "$2" = 0 ]; then echo "STEP grpcurl $1 PASS $3"; else echo "STEP grpcurl $1 FAIL $3"; failures=$((failures + 1)); fi
}

# docs/grpcurl.md shows exactly these commands.
readme_block=$(awk '/^# Debugging with grpcurl/{f=1} f&&/^```sh/{g=1;next} g&&/^```/{exit} g' "$here/../docs/grpcurl.md")
diff <(printf '%s\n' "$readme_block") "$here/grpcurl-commands.sh" >"$work/readme.diff"
step readme-in-sync $? "$(head -c 300 "$work/readme.diff" | tr '\n' ' ')"

# One file per step, the address replaced by the server's.
awk -v dir="$work" '/^# step: /{name=$3; sub(/:$/, "", name); file=dir "/" name ".sh"} file{print > file}' "$here/grpcurl-commands.sh"
for f in "$work"/*.sh; do sed -i "s/127\.0\.0\.1:50051/$address/g" "$f"; done
run() { bash "$work/$1.sh" >"$work/$1.out" 2>&1; }
has() { grep -qF -- "$2" "$work/$1.out"; }
check() { # name needle...
  local name=$1 ok=0; shift
  for needle in "$@"; do has "$name" "$needle" || ok=1; done
  step "$name" $ok "$( [ $ok = 0 ] || head -c 300 "$work/$name.out" | tr '\n' ' ')"
}

run list; check list edupulse.eventstore.v1.EventStoreService edupulse.eventstore.v1.ConsumerGroupService grpc.health.v1.Health
run describe-service; check describe-service 'service EventStoreService {' 'rpc Subscribe'
run describe-envelope; check describe-envelope 'message RecordedEvent {' 'uint64 position = 5;'
run health; check health '"status": "SERVING"'
run append; check append '"lastPosition": "1"'
run append; cp "$work/append.out" "$work/append-again.out"; check append-again '"deduplicated": true' '"lastPosition": "1"'
run read-stream; check read-stream '"eventId": "0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11"' '"revision": "0"'
# JSON data is base64 in the output: check the decoded payload separately.
payload=$(sed -n 's/.*"data": "\(.*\)".*/\1/p' "$work/read-stream.out" | head -1 | base64 -d 2>/dev/null)
[ "$payload" = '{"lessonId":"0190c3b2","title":"Fractions"}' ]; step read-stream-data $? "$payload"

# The subscription runs while another client appends a live event.
(run subscribe) & subscriber=$!
sleep 1.5
run live-append; check live-append '"lastPosition": "2"'
wait $subscriber
check subscribe '"caughtUp"' '"0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11"' '"0190c3b2-8a1e-7b2c-8d3f-4e5a6b7c8d9e"' '"heartbeat"'
# History came before caught-up, the live event after it.
order=$(grep -oE '"caughtUp"|0190c3b2-7f3a|0190c3b2-8a1e' "$work/subscribe.out" | tr '\n' ' ')
[ "$order" = '0190c3b2-7f3a "caughtUp" 0190c3b2-8a1e ' ]; step subscribe-order $? "$order"

run create-group; check create-group '"name": "mailer"' '"orderingKey": "ORDERING_KEY_STREAM"'
run consume; check consume '"joined"' '"deliveries"' '"0190c3b2-7f3a-7c4e-9a52-3d1f0e6b8a11"' '"0190c3b2-8a1e-7b2c-8d3f-4e5a6b7c8d9e"' '"settled"'
sleep 1.5 # the group saves its progress every second
run describe-group; check describe-group '"checkpoint": "2"' '"logPosition": "2"'
run erase; check erase '"position": "3"'
run retention; check retention '"maxCount": "100"' '"exists": true'
run invalid; check invalid 'Code: InvalidArgument' 'must be letters, digits' 'google.rpc.BadRequest' '"field": "stream"'

exit $((failures > 0))
