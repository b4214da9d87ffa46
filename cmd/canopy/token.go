package main

import (
	"context"
	"errors"
	"io/fs"

	"github.com/canopy-cloud/canopy/client"
)

// authOptions picks how the CLI authenticates: a raw token (--token or
// $CANOPY_TOKEN), else the credentials file's client (tokens cached on
// disk across invocations: a token request costs canopyd a slow secret
// hash), else none (canopyd then answers UNAUTHENTICATED with a hint).
func (a *app) authOptions(context.Context) ([]client.Option, error) {
	if a.token != "" {
		return []client.Option{client.WithToken(a.token)}, nil
	}
	c, err := client.ReadCredentials(a.credentials)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if a.tokenURL != "" {
		c.TokenURL = a.tokenURL
	}
	return []client.Option{client.WithCredentials(c), client.WithTokenCache()}, nil
}
