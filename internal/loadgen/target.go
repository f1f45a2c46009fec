package loadgen

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/provider/messagemedia"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/provider/vonage"
)

// Target is the running hookledger the benchmark drives, as its config
// describes it: where to send, how to sign for each provider, how to read
// back.
type Target struct {
	IngestBase string // http://host:port the requests go to
	QueryBase  string // http://host:port of the query API
	QueryToken string
	// MetricsURLs are summed for the processor lag (ingest's and the
	// processor's /metrics when the tiers run apart; one URL in `run`).
	MetricsURLs []string

	SignalWire   *SignalWireSource
	Vonage       *VonageSource
	MessageMedia *MessageMediaSource
}

// Source is what every provider's traffic needs of its source.
type Source struct {
	ID       string
	Provider string
	// SignBase is the URL that stands for /hooks/{id} in signatures: the
	// source's public_url, else public_base_url + /hooks/{id}, else the
	// ingest address the requests go to.
	SignBase string
}

// SignalWireSource signs with the first signing key.
type SignalWireSource struct {
	Source
	Key string
}

// VonageSource signs JWTs with the first signature secret and, when the
// source accepts them, SMS API `sig`s with its method.
type VonageSource struct {
	Source
	Secret, APIKey, SMSMethod string
}

// MessageMediaSource signs with a private key matching one configured key.
type MessageMediaSource struct {
	Source
	KeyID, Digest string
	Key           *rsa.PrivateKey
}

// TargetOptions override what the config says.
type TargetOptions struct {
	// IngestURL and QueryURL replace the listen addresses (e.g. behind a
	// proxy); empty uses ingest.listen and query.listen on loopback.
	IngestURL, QueryURL string
	// QueryToken replaces the first plain token of the config.
	QueryToken string
	// MessageMediaKeyPEM is the PEM private key of one of the MessageMedia
	// source's keys; without it MessageMedia traffic is skipped.
	MessageMediaKeyPEM []byte
	MetricsURLs        []string
}

// NewTarget reads what the benchmark needs from hookledger's own config:
// the first source of each provider, its first secret, a query token that
// sees every benchmarked tenant.
func NewTarget(cfg *config.Config, o TargetOptions) (*Target, error) {
	t := &Target{
		IngestBase: o.IngestURL, QueryBase: o.QueryURL, QueryToken: o.QueryToken, MetricsURLs: o.MetricsURLs,
	}
	if t.IngestBase == "" {
		t.IngestBase = "http://" + dialable(cfg.Ingest.Listen)
	}
	if t.QueryBase == "" {
		t.QueryBase = "http://" + dialable(cfg.Query.Listen)
	}
	if len(t.MetricsURLs) == 0 {
		t.MetricsURLs = []string{t.IngestBase + "/metrics"}
	}
	var tenants []string
	for _, src := range cfg.Sources {
		base := Source{ID: src.ID, Provider: src.Provider, SignBase: signBase(cfg, src, t.IngestBase)}
		var err error
		switch {
		case src.Provider == signalwire.Name && t.SignalWire == nil:
			t.SignalWire, err = signalWireSource(base, src)
		case src.Provider == vonage.Name && t.Vonage == nil:
			t.Vonage, err = vonageSource(base, src)
		case src.Provider == messagemedia.Name && t.MessageMedia == nil && o.MessageMediaKeyPEM != nil:
			t.MessageMedia, err = messageMediaSource(base, src, o.MessageMediaKeyPEM)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		tenants = append(tenants, src.Tenant)
	}
	if t.QueryToken == "" {
		t.QueryToken = tokenFor(cfg.Query.Tokens, tenants)
	}
	if t.QueryToken == "" {
		return nil, errors.New("loadgen: no query token in the config (token, not token_sha256) sees every benchmarked tenant; set HOOKLEDGER_BENCH_QUERY_TOKEN")
	}
	return t, nil
}

// dialable turns a listen address into one to connect to: an unspecified
// host (":8080", "0.0.0.0:8080", "[::]:8080") becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// signBase is the URL ingest rebuilds for /hooks/{id} (README "Behind a
// proxy"), so that what the benchmark signs is what ingest verifies.
func signBase(cfg *config.Config, src config.Source, ingestBase string) string {
	switch {
	case src.PublicURL != "":
		return src.PublicURL
	case cfg.Ingest.PublicBaseURL != "":
		return strings.TrimSuffix(cfg.Ingest.PublicBaseURL, "/") + "/hooks/" + src.ID
	default:
		return ingestBase + "/hooks/" + src.ID
	}
}

func signalWireSource(base Source, src config.Source) (*SignalWireSource, error) {
	var s signalwire.Settings
	if err := src.DecodeSettings(&s); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if len(s.SigningKeys) == 0 {
		return nil, fmt.Errorf("loadgen: source %s has no signing key", src.ID)
	}
	return &SignalWireSource{Source: base, Key: s.SigningKeys[0]}, nil
}

func vonageSource(base Source, src config.Source) (*VonageSource, error) {
	s := vonage.DefaultSettings()
	if err := src.DecodeSettings(&s); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if len(s.SignatureSecrets) == 0 {
		return nil, fmt.Errorf("loadgen: source %s has no signature secret", src.ID)
	}
	return &VonageSource{Source: base, Secret: s.SignatureSecrets[0], APIKey: s.APIKey, SMSMethod: s.SMSSignatureMethod}, nil
}

// messageMediaSource pairs the private key with the configured key whose
// public half it is.
func messageMediaSource(base Source, src config.Source, keyPEM []byte) (*MessageMediaSource, error) {
	priv, err := parsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	var s messagemedia.Settings
	if err := src.DecodeSettings(&s); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	for _, k := range s.Keys {
		pub, err := messagemedia.ParsePublicKey(k.PublicKey)
		if err != nil || !priv.PublicKey.Equal(pub) {
			continue
		}
		digest := k.Digest
		if digest == "" {
			digest = "SHA256"
		}
		return &MessageMediaSource{Source: base, KeyID: k.KeyID, Digest: strings.ToUpper(digest), Key: priv}, nil
	}
	return nil, fmt.Errorf("loadgen: the MessageMedia private key matches no key of source %s", src.ID)
}

func parsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("loadgen: MessageMedia key: no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("loadgen: MessageMedia key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("loadgen: MessageMedia key: not an RSA key")
	}
	return rk, nil
}

// ReadKeyFile reads a PEM file; an empty path reads nothing.
func ReadKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	return b, nil
}

// tokenFor returns the first plain token that sees all tenants.
func tokenFor(tokens []config.Token, tenants []string) string {
	for _, tok := range tokens {
		if tok.Token == "" {
			continue
		}
		if slices.Contains(tok.Tenants, "*") || !slices.ContainsFunc(tenants, func(t string) bool { return !slices.Contains(tok.Tenants, t) }) {
			return string(tok.Token)
		}
	}
	return ""
}
