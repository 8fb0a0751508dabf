// Package eventstore is the Go client of the EduPulse event store.
//
// Appends are retried safely (event ids are made once, before the first try),
// reads page through streams and the log, subscriptions resume after the last
// event they delivered across disconnects and server restarts, and a failed
// call returns a typed error to match with errors.As:
//
//	client, err := eventstore.New("127.0.0.1:50051", eventstore.Options{Tenant: "school-a"})
//	if err != nil { ... }
//	defer client.Close()
//	event, _ := eventstore.JSONEvent("test.Greeting", map[string]string{"hello": "world"})
//	result, err := client.Append(ctx, "learner-1", []eventstore.EventData{event}, eventstore.NoStream())
//	var conflict *eventstore.WrongExpectedRevisionError
//	if errors.As(err, &conflict) { ... conflict.ActualRevision ... }
//
// The generated code of the API is in the gen/ packages: eventstorev1 (the
// store's messages and services) and eventsv1 (the platform's events).
package eventstore
