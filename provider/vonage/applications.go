package vonage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/provider/providerapi"
)

// DefaultApplicationsAPIBase is where Vonage's Applications API (v2) lives.
const DefaultApplicationsAPIBase = "https://api.nexmo.com"

// ErrNoVoiceCapability is returned by EnableSignedCallbacks for an
// application without capabilities.voice. signed_callbacks is a voice
// setting; adding a voice capability without answer and event webhooks
// would change what the application does, so that is left to the owner.
var ErrNoVoiceCapability = errors.New("the application has no voice capability (capabilities.voice); add one in the Vonage dashboard first")

// ErrSignedCallbacksNotConfirmed is returned when Vonage accepted the update
// but a fresh read does not show capabilities.voice.signed_callbacks: true.
var ErrSignedCallbacksNotConfirmed = errors.New("signed callbacks not confirmed")

// applicationsAPIName prefixes every error about the Applications API.
const applicationsAPIName = "vonage applications API"

// ApplicationsClient reads and replaces Vonage applications through the
// Applications API with HTTP Basic auth (account API key and secret).
//
// Invariants: application documents are handled as JSON trees, never
// through a Go struct, so fields this client does not know survive a
// read-modify-write untouched; the API secret travels only in the
// Authorization header and never appears in an error (the secret lives only
// in the providerapi.Client, which guarantees both).
type ApplicationsClient struct {
	api *providerapi.Client
}

// NewApplicationsClient returns a client for the Applications API at base
// (e.g. DefaultApplicationsAPIBase, or a local stub in tests). base must be
// an absolute http or https URL without user info, query or fragment;
// whether plain http is acceptable is the caller's policy. httpClient nil
// means http.DefaultClient, which has no timeout: callers bound each call
// through its context or pass a client with one.
func NewApplicationsClient(base, apiKey, apiSecret string, httpClient *http.Client) (*ApplicationsClient, error) {
	api, err := providerapi.New(applicationsAPIName, base, apiKey, apiSecret, httpClient)
	if err != nil {
		return nil, err
	}
	return &ApplicationsClient{api: api}, nil
}

// Application returns the application document exactly as served.
func (c *ApplicationsClient) Application(ctx context.Context, appID string) (json.RawMessage, error) {
	path, err := applicationPath(appID)
	if err != nil {
		return nil, err
	}
	body, err := c.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("vonage applications API: GET %s: answer is not JSON", path)
	}
	return body, nil
}

// ReplaceApplication writes doc as the application's new configuration
// (PUT replaces it as a whole, which is why callers must send back every
// field they read).
func (c *ApplicationsClient) ReplaceApplication(ctx context.Context, appID string, doc json.RawMessage) error {
	path, err := applicationPath(appID)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, http.MethodPut, path, doc)
	return err
}

// SignedCallbacksChange reports what EnableSignedCallbacks did.
type SignedCallbacksChange struct {
	// ApplicationID is the id in canonical UUID form.
	ApplicationID string
	// Name is the application's name, for display; "" when it has none.
	Name string
	// Previous is the JSON text signed_callbacks had before ("false",
	// "true", ...), or "" when the field was absent.
	Previous string
	// Written is false when the flag was already true and nothing was sent.
	Written bool
}

// EnableSignedCallbacks turns on signed voice callbacks for an application:
// it reads the application, sets capabilities.voice.signed_callbacks to
// true, keeps every other field as read, writes the document back and reads
// it again to confirm. An application whose flag is already true is not
// written. It refuses applications without a voice capability
// (ErrNoVoiceCapability) and reports ErrSignedCallbacksNotConfirmed when
// the final read does not show the flag.
func (c *ApplicationsClient) EnableSignedCallbacks(ctx context.Context, appID string) (SignedCallbacksChange, error) {
	id, err := uuid.Parse(strings.TrimSpace(appID))
	if err != nil {
		return SignedCallbacksChange{}, fmt.Errorf("vonage application id %q is not a UUID", appID)
	}
	change := SignedCallbacksChange{ApplicationID: id.String()}
	doc, err := c.Application(ctx, change.ApplicationID)
	if err != nil {
		return change, err
	}
	change.Name = applicationName(doc)
	updated, previous, err := WithSignedCallbacks(doc)
	if err != nil {
		return change, fmt.Errorf("vonage application %s: %w", change.ApplicationID, err)
	}
	change.Previous = string(previous)
	if change.Previous == "true" {
		return change, nil
	}
	if err := c.ReplaceApplication(ctx, change.ApplicationID, updated); err != nil {
		return change, err
	}
	change.Written = true
	reread, err := c.Application(ctx, change.ApplicationID)
	if err != nil {
		return change, fmt.Errorf("vonage application %s: confirm: %w", change.ApplicationID, err)
	}
	now, err := signedCallbacksValue(reread)
	if err != nil {
		return change, fmt.Errorf("vonage application %s: confirm: %w", change.ApplicationID, err)
	}
	if string(now) != "true" {
		shown := string(now)
		if shown == "" {
			shown = "absent"
		}
		return change, fmt.Errorf("vonage application %s: %w: Vonage accepted the update but now reports signed_callbacks %s", change.ApplicationID, ErrSignedCallbacksNotConfirmed, shown)
	}
	return change, nil
}

// WithSignedCallbacks returns doc with capabilities.voice.signed_callbacks
// set to true and previous, the flag's compact JSON before ("" when absent).
//
// Only the objects on the path to the flag are decoded, and only into
// maps of json.RawMessage: every other value is carried over as its
// original bytes (compacted), so numbers keep their precision and unknown
// fields survive. Object keys come out sorted, which JSON does not give
// meaning to. doc, capabilities and capabilities.voice must be objects;
// an absent or null voice is ErrNoVoiceCapability.
func WithSignedCallbacks(doc []byte) (updated []byte, previous json.RawMessage, err error) {
	app, err := decodeObject(doc, "application")
	if err != nil {
		return nil, nil, err
	}
	capabilities, err := decodeMember(app, "capabilities")
	if err != nil {
		return nil, nil, err
	}
	if capabilities == nil {
		return nil, nil, ErrNoVoiceCapability
	}
	voice, err := decodeMember(capabilities, "voice")
	if err != nil {
		return nil, nil, fmt.Errorf("capabilities: %w", err)
	}
	if voice == nil {
		return nil, nil, ErrNoVoiceCapability
	}
	if old, ok := voice["signed_callbacks"]; ok {
		previous, err = compactJSON(old)
		if err != nil {
			return nil, nil, err
		}
	}
	voice["signed_callbacks"] = json.RawMessage("true")
	if capabilities["voice"], err = encodeJSON(voice); err != nil {
		return nil, nil, err
	}
	if app["capabilities"], err = encodeJSON(capabilities); err != nil {
		return nil, nil, err
	}
	updated, err = encodeJSON(app)
	if err != nil {
		return nil, nil, err
	}
	return updated, previous, nil
}

// signedCallbacksValue returns capabilities.voice.signed_callbacks as
// compact JSON, or nil when any part of the path is absent.
func signedCallbacksValue(doc []byte) (json.RawMessage, error) {
	app, err := decodeObject(doc, "application")
	if err != nil {
		return nil, err
	}
	capabilities, err := decodeMember(app, "capabilities")
	if err != nil || capabilities == nil {
		return nil, err
	}
	voice, err := decodeMember(capabilities, "voice")
	if err != nil || voice == nil {
		return nil, err
	}
	flag, ok := voice["signed_callbacks"]
	if !ok {
		return nil, nil
	}
	return compactJSON(flag)
}

// applicationName is the document's "name", or "" when it has none.
func applicationName(doc []byte) string {
	var named struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(doc, &named) // a missing or odd name only loses a label
	return named.Name
}

// decodeObject decodes a JSON object into its members, each kept as raw
// bytes. what names the value in errors.
func decodeObject(data []byte, what string) (map[string]json.RawMessage, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object: %w", what, err)
	}
	if members == nil { // the literal null
		return nil, fmt.Errorf("%s is null, want a JSON object", what)
	}
	return members, nil
}

// decodeMember decodes parent[name] as an object; nil, nil when the member
// is absent or null.
func decodeMember(parent map[string]json.RawMessage, name string) (map[string]json.RawMessage, error) {
	raw, ok := parent[name]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	return decodeObject(raw, name)
}

// encodeJSON marshals v without HTML escaping, so that "<", ">" and "&" in
// carried-over strings keep their original spelling.
func encodeJSON(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode application: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func compactJSON(raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("application JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// applicationPath is the API path of an application; the id must be a UUID,
// which also keeps anything path-like out of the URL.
func applicationPath(appID string) (string, error) {
	id, err := uuid.Parse(strings.TrimSpace(appID))
	if err != nil {
		return "", fmt.Errorf("vonage application id %q is not a UUID", appID)
	}
	return "/v2/applications/" + id.String(), nil
}

// ApplicationsAPIError is a non-2xx answer from the Applications API.
// It names providerapi.StatusError, the error type the management API
// clients share: errors.As tells it from other errors, and its API field
// ("vonage applications API" here) tells which client returned it.
// Message is Vonage's explanation (title and detail of its problem
// document) when it gave one: bounded, on one line, secret removed.
type ApplicationsAPIError = providerapi.StatusError

// call sends one request and returns the body of a 2xx answer; any other
// status becomes an *ApplicationsAPIError. body, when not nil, is sent as
// JSON as is: re-encoding would change the spelling of carried-over values.
func (c *ApplicationsClient) call(ctx context.Context, method, path string, body json.RawMessage) ([]byte, error) {
	return c.api.Do(ctx, method, path, body, problemExplanation)
}

// problemExplanation extracts title and detail from Vonage's problem
// document (RFC 7807), joined with ": ". It is "" when the answer has
// neither, and then the answer's own text is quoted instead.
func problemExplanation(answer []byte) string {
	var problem struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(answer, &problem) != nil {
		return ""
	}
	text := strings.TrimSuffix(problem.Title+": "+problem.Detail, ": ")
	return strings.TrimPrefix(text, ": ")
}
