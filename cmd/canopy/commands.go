package main

// The commands of each resource group are methods of a small type of their
// own over the shared *app (connection, flags, output), so no one type
// carries every command; helpers several groups use (dialing, waits,
// output, operations) stay on *app.

// serverCmds are `canopy server …` (servers.go, server_actions.go, watch.go).
type serverCmds struct{ *app }

// volumeCmds are `canopy volume …` (volumes.go, watch.go).
type volumeCmds struct{ *app }

// copyCmds are `canopy snapshot …` and `canopy backup …` (snapshots.go).
type copyCmds struct{ *app }

// objectCmds are `canopy object …` and `canopy bucket …` (objects.go,
// object_transfer.go, buckets.go).
type objectCmds struct{ *app }

// operationCmds are `canopy operation …` (operations.go).
type operationCmds struct{ *app }

// keypairCmds are `canopy keypair …` (keypairs.go).
type keypairCmds struct{ *app }

// clientCmds are `canopy client …` (clients.go).
type clientCmds struct{ *app }

// flavorCmds are `canopy flavor …` (flavors.go).
type flavorCmds struct{ *app }

// imageCmds are `canopy image …` (images.go, image_transfer.go).
type imageCmds struct{ *app }

// netCmds are `canopy network|subnet|port|router|sg|fip …` (networks*.go).
type netCmds struct{ *app }
