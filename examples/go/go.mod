module edupulse.dev/examples/go

go 1.26.0

require (
	edupulse.dev/eventstore/clients/go v0.0.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261123191846-1e707ab9fbc2 // indirect
	google.golang.org/grpc v1.85.0 // indirect
)

// Until the module is served from its import path, take it from this repository.
replace edupulse.dev/eventstore/clients/go => ../../clients/go
