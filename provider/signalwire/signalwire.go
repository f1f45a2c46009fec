// Package signalwire verifies and normalises SignalWire (Compatibility API,
// Twilio-compatible) callbacks: message status reports, inbound messages,
// call status and recording callbacks.
//
// Verification (docs/signatures.md#signalwire) accepts two HMAC schemes keyed by the project's
// signing key:
//
//   - scheme A: X-SignalWire-Signature is lowercase hex HMAC-SHA1(key,
//     URL + raw body); X-SignalWire-SHA256-Signature, when present, is hex
//     HMAC-SHA256 of the same bytes and must verify too;
//   - scheme B: X-SignalWire-Signature or X-Twilio-Signature is base64
//     HMAC-SHA1(key, URL + name+value of every urlencoded body parameter
//     sorted by name), or for a JSON body the URL alone, where the URL carries
//     bodySHA256=<hex SHA-256 of the body>. The parameter string is
//     accepted in each spelling the providers' SDKs sign: names in byte
//     order (Go) or UTF-16 order (JavaScript), the values of a repeated
//     name as received, sorted, or sorted without duplicates (twilio-node
//     6.x). A form of more than provider.MaxParams pairs is malformed
//     before any HMAC.
//
// Normalisation (docs/vocabularies.md#provider--normalised-status) maps MessageStatus and CallStatus onto hookledger's
// vocabularies and derives deterministic dedup keys.
package signalwire

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider"
)

// Name is the provider's name in config and records.
const Name = "signalwire"

// Header names SignalWire signs with.
const (
	// HeaderSignature carries scheme A (40 hex digits) or scheme B (base64).
	HeaderSignature = "X-SignalWire-Signature"
	// HeaderSHA256Signature carries the optional scheme A HMAC-SHA256 (hex).
	HeaderSHA256Signature = "X-SignalWire-SHA256-Signature"
	// HeaderTwilioSignature carries scheme B for Twilio-compatible clients.
	HeaderTwilioSignature = "X-Twilio-Signature"
)

// AckContentType and AckBody are the 200 answer SignalWire expects: an empty
// cXML document, so that a callback URL reused as a voice/message webhook
// does nothing.
const (
	AckContentType = "application/xml"
	AckBody        = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`
)

// Provider is the SignalWire provider. It is stateless; one value serves
// every source.
type Provider struct{}

// New returns the SignalWire provider.
func New() *Provider { return &Provider{} }

// Name returns "signalwire".
func (*Provider) Name() string { return Name }

// Ack returns the empty cXML document SignalWire expects in a 200 answer.
// The body is a fresh slice on every call, so a caller may keep or modify it.
func (*Provider) Ack(eventID string) (string, []byte) {
	return AckContentType, []byte(AckBody)
}

// Settings is a source's `signalwire:` block.
//
//	signalwire:
//	  signing_keys: ["PSK..."]   # several are valid at once during a key reset
type Settings struct {
	// SigningKeys are the project signing keys (Dashboard → API credentials).
	// Every one is tried, in order; at least one is required.
	SigningKeys KeyList `yaml:"signing_keys" secret:"true"`
}

// KeyList is a list of secrets that also accepts a single scalar in YAML.
// Its decoding errors never quote the value, because it is a secret (the
// yaml.v3 type errors quote the offending value).
type KeyList []string

// UnmarshalYAML accepts `signing_keys: PSK...` and `signing_keys: [PSK..., ...]`.
func (k *KeyList) UnmarshalYAML(node *yaml.Node) error {
	switch node.Kind {
	case yaml.ScalarNode:
		if node.Tag == "!!null" {
			*k = nil
			return nil
		}
		*k = KeyList{node.Value}
		return nil
	case yaml.SequenceNode:
		keys := make(KeyList, 0, len(node.Content))
		for i, item := range node.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return fmt.Errorf("signing_keys[%d]: expected a string (line %d)", i, item.Line)
			}
			keys = append(keys, item.Value)
		}
		*k = keys
		return nil
	default:
		return fmt.Errorf("signing_keys: expected a list of strings (line %d)", node.Line)
	}
}

// validate checks the settings and names the offending field relative to
// the provider block. Messages never contain a key.
func (s *Settings) validate() error {
	if len(s.SigningKeys) == 0 {
		return errors.New("signing_keys: at least one signing key is required")
	}
	seen := make(map[string]int, len(s.SigningKeys))
	for i, key := range s.SigningKeys {
		switch {
		case strings.TrimSpace(key) == "":
			return fmt.Errorf("signing_keys[%d]: empty", i)
		case strings.TrimSpace(key) != key:
			// A pasted key with a stray space or newline would silently
			// never verify anything.
			return fmt.Errorf("signing_keys[%d]: has leading or trailing whitespace", i)
		}
		if j, dup := seen[key]; dup {
			return fmt.Errorf("signing_keys[%d]: same key as signing_keys[%d]", i, j)
		}
		seen[key] = i
	}
	return nil
}

// NewVerifier builds the verifier of one source from its `signalwire:` block.
func (*Provider) NewVerifier(src provider.Source, deps provider.Deps) (provider.Verifier, error) {
	var settings Settings
	if src.Decode != nil {
		if err := src.Decode(&settings); err != nil {
			return nil, fmt.Errorf("decode settings: %w", err)
		}
	}
	if err := settings.validate(); err != nil {
		return nil, err
	}
	return newVerifier(settings.SigningKeys), nil
}

// Compile-time checks that Provider is what ingest and the processor use.
var (
	_ provider.Provider     = (*Provider)(nil)
	_ provider.Acknowledger = (*Provider)(nil)
)
