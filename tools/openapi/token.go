package main

import (
	"github.com/getkin/kin-openapi/openapi3"
)

// addTokenEndpoint describes POST /oauth2/token (auth/http.go): the
// client-credentials grant, with client_secret_basic or client_secret_post,
// answered as RFC 6749 §5.1 and §5.2 say.
func addTokenEndpoint(doc *openapi3.T) {
	str := func(desc string) *openapi3.SchemaRef {
		s := openapi3.NewStringSchema()
		s.Description = desc
		return s.NewRef()
	}
	doc.Components.Schemas["TokenRequest"] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Type: &openapi3.Types{openapi3.TypeObject}, Required: []string{"grant_type"},
		Description: "A client-credentials token request (RFC 6749 §4.4.2).",
		Properties: openapi3.Schemas{
			"grant_type":    {Value: openapi3.NewStringSchema().WithEnum("client_credentials")},
			"client_id":     str("The client id (client_secret_post; or use HTTP Basic)."),
			"client_secret": str("The client secret (client_secret_post; or use HTTP Basic)."),
			"scope":         str("Space-separated scopes, a subset of the client's; empty: all of them."),
		},
	}}
	expires := openapi3.NewIntegerSchema()
	expires.Description = "Seconds the token is valid for."
	doc.Components.Schemas["TokenResponse"] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Type: &openapi3.Types{openapi3.TypeObject}, Required: []string{"access_token", "token_type", "expires_in", "scope"},
		Description: "An access token (RFC 6749 §5.1): send it as `Authorization: Bearer <access_token>`.",
		Properties: openapi3.Schemas{
			"access_token": str("The token (a JWT)."),
			"token_type":   {Value: openapi3.NewStringSchema().WithEnum("Bearer")},
			"expires_in":   expires.NewRef(),
			"scope":        str("The scopes granted, space-separated."),
		},
	}}
	doc.Components.Schemas["TokenError"] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Type: &openapi3.Types{openapi3.TypeObject}, Required: []string{"error"},
		Description: "A token error (RFC 6749 §5.2).",
		Properties: openapi3.Schemas{
			"error": {Value: openapi3.NewStringSchema().WithEnum("invalid_request", "invalid_client", "invalid_grant",
				"unauthorized_client", "unsupported_grant_type", "invalid_scope", "server_error")},
			"error_description": str("What was wrong."),
		},
	}}
	tokenErr := func(desc string) *openapi3.ResponseRef { return jsonResponse(desc, ref("TokenError")) }
	item(doc, "/oauth2/token").Post = &openapi3.Operation{
		OperationID: "OAuth2_Token",
		Summary:     "Issues an access token for a client's credentials (the client-credentials grant).",
		Tags:        []string{"OAuth2"},
		// The client authenticates itself here: with HTTP Basic, or with
		// client_id and client_secret in the form.
		Security: &openapi3.SecurityRequirements{{schemeBasic: {}}, {}},
		RequestBody: &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: true,
			Content: openapi3.Content{"application/x-www-form-urlencoded": {Schema: ref("TokenRequest")}}}},
		Responses: responses(map[string]*openapi3.ResponseRef{
			"200": jsonResponse("The token.", ref("TokenResponse")),
			"400": tokenErr("A malformed request, another grant type or a scope the client may not have."),
			"401": tokenErr("No client authentication, an unknown client or a wrong secret."),
			"413": tokenErr("A form over 64 KiB."),
			"500": tokenErr("The server could not issue a token; try again."),
		}),
	}
}

// addDiscovery describes the authorization server's metadata (RFC 8414,
// also at the OIDC path) and its signing keys (RFC 7517), which token
// verifiers outside canopy read; both are public.
func addDiscovery(doc *openapi3.T) {
	strs := func() *openapi3.SchemaRef {
		return openapi3.NewArraySchema().WithItems(openapi3.NewStringSchema()).NewRef()
	}
	doc.Components.Schemas["AuthorizationServerMetadata"] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Type:        &openapi3.Types{openapi3.TypeObject},
		Description: "Authorization server metadata (RFC 8414).",
		Required:    []string{"issuer", "jwks_uri", "token_endpoint"},
		Properties: openapi3.Schemas{
			"issuer": openapi3.NewStringSchema().NewRef(), "token_endpoint": openapi3.NewStringSchema().NewRef(),
			"jwks_uri": openapi3.NewStringSchema().NewRef(), "grant_types_supported": strs(),
			"token_endpoint_auth_methods_supported": strs(), "scopes_supported": strs(), "response_types_supported": strs(),
			"id_token_signing_alg_values_supported": strs(), "subject_types_supported": strs(),
		},
	}}
	key := openapi3.NewObjectSchema().WithRequired([]string{"kty"})
	for _, f := range []string{"kty", "kid", "use", "alg", "crv", "x", "y"} {
		key.WithProperty(f, openapi3.NewStringSchema())
	}
	doc.Components.Schemas["JWKS"] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Type:        &openapi3.Types{openapi3.TypeObject},
		Description: "The public keys tokens are signed with (a JSON Web Key Set, RFC 7517).",
		Required:    []string{"keys"},
		Properties:  openapi3.Schemas{"keys": openapi3.NewArraySchema().WithItems(key).NewRef()},
	}}
	public := &openapi3.SecurityRequirements{}
	meta := func(id string) *openapi3.Operation {
		return &openapi3.Operation{OperationID: id, Summary: "The authorization server's metadata.", Tags: []string{"OAuth2"},
			Security: public, Responses: responses(map[string]*openapi3.ResponseRef{"200": jsonResponse("The metadata.", ref("AuthorizationServerMetadata"))})}
	}
	item(doc, "/.well-known/oauth-authorization-server").Get = meta("OAuth2_Metadata")
	item(doc, "/.well-known/openid-configuration").Get = meta("OAuth2_OpenIDConfiguration")
	item(doc, "/.well-known/jwks.json").Get = &openapi3.Operation{OperationID: "OAuth2_JWKS", Summary: "The keys tokens are signed with.",
		Tags: []string{"OAuth2"}, Security: public,
		Responses: responses(map[string]*openapi3.ResponseRef{"200": jsonResponse("The key set.", ref("JWKS"))})}
}
