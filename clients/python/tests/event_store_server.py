"""A real event store server for the tests: the repository's build, on a temp data directory."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
SERVER_MAIN = Path(os.environ.get("EDUPULSE_SERVER_MAIN", REPOSITORY / "dist" / "cli" / "main.js"))


class EventStoreServer:
    """Starts ``edupulse-es serve`` on 127.0.0.1; restartable on the same port and data directory."""

    def __init__(self, data_dir: Path, *extra_args: str) -> None:
        if not SERVER_MAIN.exists():
            raise RuntimeError(f"{SERVER_MAIN} is missing: build the server first (npm run build)")
        self.data_dir = data_dir
        self.extra_args = extra_args
        self.port = 0
        self.address = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> EventStoreServer:
        command = ["node", str(SERVER_MAIN), "serve", "--port", str(self.port), "--metrics-port", "off"]
        command += ["--data-dir", str(self.data_dir), "--log-level", "warn", *self.extra_args]
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue[str | None] = queue.Queue()

        def pump(stdout) -> None:  # type: ignore[no-untyped-def]
            for line in stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, args=(self._process.stdout,), daemon=True).start()
        seen: list[str] = []
        while True:
            line = lines.get(timeout=60)
            if line is None:
                raise RuntimeError("the server exited before listening:\n" + "".join(seen))
            seen.append(line)
            if line.startswith("EDUPULSE_LISTENING "):
                self.address = line.split()[1]
                self.port = int(self.address.rsplit(":", 1)[1])
                return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=60)
            self._process = None
