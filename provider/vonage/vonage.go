// Package vonage verifies and normalises Vonage callbacks: Messages API
// status and inbound webhooks, Voice API event webhooks (both signed with an
// HS256 JWT), and SMS API delivery receipts and inbound SMS (signed with a
// `sig` parameter).
//
// Verification (docs/signatures.md#vonage): an "Authorization: Bearer" header means a JWT and
// nothing else; otherwise a `sig` parameter is checked, and only when the
// source sets sms_signature_method. Either scheme accepts any of the
// source's signature secrets (rotation); the record's key id is
// provider.SecretFingerprint of the secret that verified.
//
// Normalisation (docs/vocabularies.md) tells the payload kinds apart by their fields; see
// Normalise.
package vonage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// Name is the provider's name in config and records.
const Name = "vonage"

// DefaultMaxAge is max_age when the block omits it.
const DefaultMaxAge = 5 * time.Minute

// Provider is the Vonage provider. It is stateless; one value serves every
// source.
type Provider struct{}

// New returns the Vonage provider.
func New() *Provider { return &Provider{} }

// Name returns "vonage".
func (*Provider) Name() string { return Name }

// Settings is a source's `vonage:` block.
//
//	vonage:
//	  signature_secrets: ["..."]     # at least one; several during rotation
//	  api_key: ""                    # optional: the JWT api_key claim must equal it
//	  max_age: 5m                    # JWT iat / SMS timestamp window and jti memory; 0s disables the window
//	  sms_signature_method: md5hash  # md5hash | md5 | sha1 | sha256 | sha512; empty: SMS sig not accepted
type Settings struct {
	// SignatureSecrets are the account's signature secrets (Dashboard →
	// API settings); every one is tried, so the old and the new secret
	// are both valid during a rotation. At least one is required.
	SignatureSecrets SecretList `yaml:"signature_secrets" secret:"true"`
	// APIKey, when set, must equal a JWT's api_key claim (the account
	// the callback is for).
	APIKey string `yaml:"api_key"`
	// MaxAge is the window around the receive time a JWT's iat and an SMS
	// API timestamp must fall in, and how long a JWT's jti is remembered
	// to refuse its replay; 0s disables the window (jti ids are then
	// remembered for a day).
	MaxAge Duration `yaml:"max_age"`
	// SMSSignatureMethod is the account's SMS API signature method:
	// md5hash, md5, sha1, sha256 or sha512. Empty refuses SMS API
	// callbacks signed with a sig parameter.
	SMSSignatureMethod string `yaml:"sms_signature_method"`
}

// DefaultSettings are the values an omitted key takes.
func DefaultSettings() Settings {
	return Settings{MaxAge: Duration(DefaultMaxAge)}
}

// Duration is a time.Duration written as a Go duration string ("5m", "90s",
// "0s"). Its own decoder exists so that a bad value is reported with the
// field's name, which yaml.v3's error for time.Duration lacks.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string; a bare number is refused
// because its unit would be a guess.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	// The errors never quote the value: a secret put in the wrong field
	// would be printed.
	parsed, err := time.ParseDuration(strings.TrimSpace(node.Value))
	if node.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("max_age: expected a duration such as 5m, 90s or 0s (line %d)", node.Line)
	}
	*d = Duration(parsed)
	return nil
}

// SecretList is a list of secrets that also accepts a single string in YAML.
// Its decoding errors never quote a value (yaml.v3's own type errors do,
// and these values are secrets).
type SecretList []string

// UnmarshalYAML accepts `signature_secrets: s` and `signature_secrets: [s, ...]`.
func (l *SecretList) UnmarshalYAML(node *yaml.Node) error {
	switch node.Kind {
	case yaml.ScalarNode:
		if node.Tag == "!!null" {
			*l = nil
		} else {
			*l = SecretList{node.Value}
		}
		return nil
	case yaml.SequenceNode:
		out := make(SecretList, 0, len(node.Content))
		for i, item := range node.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return fmt.Errorf("signature_secrets[%d]: expected a string (line %d)", i, item.Line)
			}
			out = append(out, item.Value)
		}
		*l = out
		return nil
	default:
		return fmt.Errorf("signature_secrets: expected a list of strings (line %d)", node.Line)
	}
}

// Validate checks s and names the offending field relative to the provider
// block. Messages never contain a secret.
func (s *Settings) Validate() error {
	if len(s.SignatureSecrets) == 0 {
		return errors.New("signature_secrets: at least one signature secret is required")
	}
	seen := make(map[string]int, len(s.SignatureSecrets))
	for i, secret := range s.SignatureSecrets {
		switch {
		case strings.TrimSpace(secret) == "":
			return fmt.Errorf("signature_secrets[%d]: empty", i)
		case strings.TrimSpace(secret) != secret:
			// A pasted secret with a stray space or newline would
			// silently never verify anything.
			return fmt.Errorf("signature_secrets[%d]: has leading or trailing whitespace", i)
		}
		if j, dup := seen[secret]; dup {
			return fmt.Errorf("signature_secrets[%d]: same secret as signature_secrets[%d]", i, j)
		}
		seen[secret] = i
	}
	if s.MaxAge < 0 {
		return fmt.Errorf("max_age: must not be negative (got %s)", time.Duration(s.MaxAge))
	}
	if m := normaliseSMSMethod(s.SMSSignatureMethod); m != "" && !validSMSMethod(m) {
		return fmt.Errorf("sms_signature_method: must be one of %s (or empty to refuse SMS API sig callbacks)",
			strings.Join(smsMethods, ", "))
	}
	return nil
}

// NewVerifier builds the verifier of one source from its `vonage:` block.
func (*Provider) NewVerifier(src provider.Source, deps provider.Deps) (provider.Verifier, error) {
	settings := DefaultSettings()
	if src.Decode != nil {
		if err := src.Decode(&settings); err != nil {
			return nil, fmt.Errorf("decode settings: %w", err)
		}
	}
	settings.SMSSignatureMethod = normaliseSMSMethod(settings.SMSSignatureMethod)
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	if deps.Replays == nil {
		return nil, errors.New("vonage: a replay guard is required")
	}
	return newVerifier(src.ID, settings, deps), nil
}

// verifier verifies the callbacks of one source. It is immutable after
// construction and safe for concurrent use.
type verifier struct {
	secrets      [][]byte // UTF-8 bytes of each signature secret, in configured order
	keyIDs       []string // SecretFingerprint of secrets[i]
	apiKey       string
	maxAge       time.Duration
	smsMethod    string // "" when SMS API sig callbacks are refused
	replays      provider.ReplayGuard
	replayPrefix string // "vonage:<source id>:"
	now          func() time.Time
	parser       *jwt.Parser
}

func newVerifier(sourceID string, s Settings, deps provider.Deps) *verifier {
	v := &verifier{
		apiKey:       s.APIKey,
		maxAge:       time.Duration(s.MaxAge),
		smsMethod:    s.SMSSignatureMethod,
		replays:      deps.Replays,
		replayPrefix: Name + ":" + sourceID + ":",
		now:          deps.Now,
		// Strict base64url: a token has one encoding, so a re-encoded
		// (malleated) copy of a genuine token is not accepted as genuine.
		parser: jwt.NewParser(jwt.WithoutClaimsValidation(), jwt.WithStrictDecoding()),
	}
	for _, secret := range s.SignatureSecrets {
		v.secrets = append(v.secrets, []byte(secret))
		v.keyIDs = append(v.keyIDs, provider.SecretFingerprint(secret))
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v
}

// Verify implements provider.Verifier. Rejections follow docs/ingest.md#rejection-reasons-and-their-precedence;
// an error from the replay guard is returned as is (an internal failure).
func (v *verifier) Verify(ctx context.Context, req *provider.Request) (provider.Verified, error) {
	now := req.ReceivedAt
	if now.IsZero() {
		now = v.now()
	}
	if token, ok := bearerToken(req.Header); ok {
		return v.verifyJWT(ctx, req, token, now)
	}
	if v.smsMethod == "" {
		hint := ""
		if p, err := parseSignedPayload(req); err == nil {
			if _, hasSig := p.get(paramSig); hasSig {
				hint = "; the payload has an SMS API sig, but sms_signature_method is not set for this source"
			}
		}
		return provider.Verified{}, provider.Reject(schema.ReasonMissingSignature,
			"no Authorization: Bearer JWT%s", hint)
	}
	p, err := parseSignedPayload(req)
	if err != nil {
		// missing_signature comes before malformed (docs/ingest.md#rejection-reasons-and-their-precedence): only a sig
		// that can be seen in what does decode makes the payload the
		// problem.
		if errors.Is(err, provider.ErrTooManyParams) {
			return provider.Verified{}, rejectTooMany(req, err)
		}
		if !looseSig(req) {
			return provider.Verified{}, provider.Reject(schema.ReasonMissingSignature,
				"no Authorization: Bearer JWT and no SMS API sig parameter (and the payload does not parse: %v)", err)
		}
		return provider.Verified{}, provider.Reject(schema.ReasonMalformed,
			"SMS API sig present, but the payload does not parse: %v", err)
	}
	sig, ok := p.get(paramSig)
	if !ok || strings.TrimSpace(sig) == "" {
		return provider.Verified{}, provider.Reject(schema.ReasonMissingSignature,
			"no Authorization: Bearer JWT and no SMS API sig parameter")
	}
	return v.verifySMS(p, sig, now)
}

// rejectTooMany rejects a payload over provider.MaxParams without decoding
// it: malformed when a sig could be among its parameters (the text "sig",
// or an escape that could spell it, appears in the query or body),
// missing_signature otherwise. Deciding exactly would mean decoding what
// the bound exists to leave undecoded.
func rejectTooMany(req *provider.Request, err error) *provider.Rejection {
	for _, b := range [][]byte{[]byte(req.RawQuery()), req.Body} {
		if bytes.Contains(b, []byte(paramSig)) || bytes.IndexByte(b, '%') >= 0 || bytes.IndexByte(b, '\\') >= 0 {
			return provider.Reject(schema.ReasonMalformed, "SMS API payload may carry a sig, but it is refused unparsed: %v", err)
		}
	}
	return provider.Reject(schema.ReasonMissingSignature,
		"no Authorization: Bearer JWT and no SMS API sig parameter (and the payload is refused unparsed: %v)", err)
}

// looseSig reports whether a non-empty sig parameter is in the query or a
// form body, reading them leniently (pairs that decode are kept).
func looseSig(req *provider.Request) bool {
	candidates := []string{req.RawQuery()}
	if req.Method != http.MethodGet && req.IsForm() {
		candidates = append(candidates, string(req.Body))
	}
	for _, c := range candidates {
		if q, _ := url.ParseQuery(c); strings.TrimSpace(q.Get(paramSig)) != "" {
			return true
		}
	}
	return false
}

// normaliseSMSMethod accepts "MD5HASH" or " sha256 " as written by hand
// (the dashboard shows the methods capitalised).
func normaliseSMSMethod(m string) string {
	return strings.ToLower(strings.TrimSpace(m))
}

// Compile-time check that Provider is what ingest and the processor use.
var _ provider.Provider = (*Provider)(nil)
