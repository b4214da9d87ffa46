package main

import (
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/canopy-cloud/canopy/auth"
)

// Security scheme names.
const (
	schemeOAuth2 = "oauth2" // client credentials at /oauth2/token
	schemeBearer = "bearer" // a token got some other way (the CLI's, a file)
	schemeBasic  = "client" // client_secret_basic, at the token endpoint only
)

// requiredNote is how proto/ marks a required field in its comment: "The
// server name (required)." or "(required; unique per host)". "(required
// unless …)" is conditional, so not required in the schema.
var requiredNote = regexp.MustCompile(`\(required[);]`)

// complete adds to the converted document what its plugin cannot know.
func complete(doc *openapi3.T) {
	doc.Info = &openapi3.Info{
		Title:   "canopy API",
		Version: "1.0.0",
		Description: "One cloud-neutral API over many clouds (package canopy.v1): the REST face " +
			"of canopyd's gRPC services (grpc-gateway), its token endpoint and its byte routes. " +
			"JSON field names are the proto names (snake_case), enums are their names, and " +
			"64-bit integers are strings, as protojson writes them. Errors are a google.rpc.Status " +
			"with the HTTP status of its gRPC code.",
		License: &openapi3.License{Name: "Apache-2.0"},
	}
	doc.Servers = openapi3.Servers{{URL: "http://127.0.0.1:8471", Description: "canopyd's default REST address (--rest-addr)"}}
	if doc.Components == nil {
		doc.Components = &openapi3.Components{}
	}
	doc.Components.SecuritySchemes = openapi3.SecuritySchemes{
		schemeOAuth2: {Value: &openapi3.SecurityScheme{
			Type:        "oauth2",
			Description: "OAuth 2 client credentials (RFC 6749 §4.4) from canopyd's own authorization server.",
			Flows: &openapi3.OAuthFlows{ClientCredentials: &openapi3.OAuthFlow{
				TokenURL: "/oauth2/token",
				Scopes: map[string]string{
					auth.ScopeRead:  "read every resource of the token's project",
					auth.ScopeWrite: "create, change and delete resources (implies nothing about reading)",
					auth.ScopeAdmin: "manage OAuth clients and signing keys",
				},
			}},
		}},
		schemeBearer: {Value: &openapi3.SecurityScheme{
			Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "A token from /oauth2/token sent as `Authorization: Bearer …`.",
		}},
		schemeBasic: {Value: &openapi3.SecurityScheme{
			Type: "http", Scheme: "basic",
			Description: "client_secret_basic at the token endpoint: the client id and secret.",
		}},
	}
	undotPathParams(doc)
	for name, s := range doc.Components.Schemas {
		if s.Value != nil {
			requireFields(name, s.Value)
		}
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			secure(op)
			optionalBody(doc, op)
			for _, p := range op.Parameters {
				if p.Value != nil && requiredNote.MatchString(p.Value.Description) {
					p.Value.Required = true
				}
			}
		}
	}
}

// secure sets an operation's security from the scope its RPC needs
// (auth.MethodScope, the rule the server enforces).
func secure(op *openapi3.Operation) {
	svc, method, ok := strings.Cut(op.OperationID, "_")
	if !ok {
		return
	}
	scope, public := auth.MethodScope("/canopy.v1." + svc + "/" + method)
	if public {
		op.Security = &openapi3.SecurityRequirements{}
		return
	}
	op.Security = bearerOr(scope)
}

// bearerOr is "an OAuth 2 token with scope, or any bearer token".
func bearerOr(scope string) *openapi3.SecurityRequirements {
	return &openapi3.SecurityRequirements{{schemeOAuth2: {scope}}, {schemeBearer: {}}}
}

// requireFields marks the fields a schema always has: those the protos call
// required (a request is refused without them, and without text in a
// required string), and the lists of a List…Response, which canopyd always
// sends, empty or not (server/rest_marshal.go).
func requireFields(name string, s *openapi3.Schema) {
	list := strings.HasPrefix(name, "List") && strings.HasSuffix(name, "Response")
	for field, p := range s.Properties {
		if p.Value == nil {
			continue
		}
		switch {
		case p.Ref == "" && requiredNote.MatchString(p.Value.Description):
			s.Required = append(s.Required, field)
			if p.Value.Type.Is(openapi3.TypeString) && p.Value.Format == "" {
				p.Value.MinLength = 1
			}
		case list && p.Ref == "" && (p.Value.Type.Is(openapi3.TypeArray) || p.Value.Type.Is(openapi3.TypeObject)):
			s.Required = append(s.Required, field)
		}
	}
	sort.Strings(s.Required)
}

// undotPathParams renames a path parameter bound to a nested field
// ({start.container}) to start_container: its name is not on the wire,
// and generators take only identifiers there.
func undotPathParams(doc *openapi3.T) {
	for _, path := range doc.Paths.InMatchingOrder() {
		it := doc.Paths.Value(path)
		renamed := path
		for _, op := range it.Operations() {
			for _, p := range op.Parameters {
				if p.Value == nil || p.Value.In != openapi3.ParameterInPath || !strings.Contains(p.Value.Name, ".") {
					continue
				}
				name := strings.ReplaceAll(p.Value.Name, ".", "_")
				renamed = strings.ReplaceAll(renamed, "{"+p.Value.Name+"}", "{"+name+"}")
				p.Value.Name = name
			}
		}
		if renamed != path {
			doc.Paths.Delete(path)
			doc.Paths.Set(renamed, it)
		}
	}
}

// optionalBody says a JSON body may be left out when nothing in it is
// required: the gateway reads no body as an empty message (a POST to
// :rotateSecret or :start needs none), while a body with required fields,
// left out, is refused naming them.
func optionalBody(doc *openapi3.T, op *openapi3.Operation) {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return
	}
	s := mt.Schema.Value
	if name, ok := strings.CutPrefix(mt.Schema.Ref, "#/components/schemas/"); ok {
		if ref := doc.Components.Schemas[name]; ref != nil {
			s = ref.Value
		}
	}
	if s != nil && len(s.Required) == 0 {
		op.RequestBody.Value.Required = false
	}
}
