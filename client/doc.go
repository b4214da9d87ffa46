// Package client is canopy's Go client: it dials canopyd, authenticates
// every call with an OAuth 2 token it keeps fresh, and adds what the
// generated stubs (gen/go/canopy/v1) lack — waits for operations, page
// iterators over the List RPCs, typed errors carrying the google.rpc
// details canopyd sends, and streamed object transfers.
//
// A Client holds one gRPC connection and a stub per service; the stubs are
// the generated ones, so every RPC is reachable as c.Compute.GetServer(…),
// c.Volumes.CreateVolume(…) and so on:
//
//	c, err := client.DialEnv(ctx) // $CANOPY_ADDR, $CANOPY_TOKEN or the credentials file
//	if err != nil { … }
//	defer c.Close()
//	for s, err := range c.AllServers(ctx, &canopyv1.ListServersRequest{}) { … }
//
// Authentication: a token from client credentials (a profile of the
// credentials file: the default one canopyd writes on its first start, or
// one `canopy login --profile NAME` writes; WithProfile, $CANOPY_PROFILE),
// exchanged at canopyd's /oauth2/token and refreshed before it expires; or
// a raw token. A token is sent in plaintext only to a loopback address;
// anywhere else the connection must use TLS (WithTLS, WithCAFile, or the
// profile's tls and ca_file), and the token endpoint is trusted with the
// same TLS configuration as the gRPC channel.
//
// The package is not a second model: requests and responses are the
// generated canopyv1 messages. The canopy CLI (cmd/canopy) dials with it.
package client
