package messagemedia

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hookledger/hookledger/provider"
)

// The helpers below produce genuine MessageMedia signatures (docs/signatures.md#messagemedia). They
// exist for tests here and in other packages (ingest, end-to-end); the
// service itself never signs.

// SignedBytes returns the bytes MessageMedia signs: request line, Date value, body, with nothing between.
func SignedBytes(requestLine, date string, body []byte) []byte {
	out := make([]byte, 0, len(requestLine)+len(date)+len(body))
	out = append(out, requestLine...)
	out = append(out, date...)
	return append(out, body...)
}

// Sign returns the base64 RSA PKCS#1 v1.5 signature of requestLine+date+body with the named digest (SHA224|SHA256|SHA512).
func Sign(priv *rsa.PrivateKey, digest, requestLine, date string, body []byte) (string, error) {
	_, hash, ok := digestByName(digest)
	if !ok {
		return "", fmt.Errorf("messagemedia: unsupported digest %q", digest)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, hash, signedDigest(hash, requestLine, date, body))
	if err != nil {
		return "", fmt.Errorf("messagemedia: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// SignatureHeaders returns the five signing headers for a request line, Date and body.
func SignatureHeaders(priv *rsa.PrivateKey, keyID, digest, requestLine string, date time.Time, body []byte) (http.Header, error) {
	dateValue := date.UTC().Format(http.TimeFormat)
	sig, err := Sign(priv, digest, requestLine, dateValue, body)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 5)
	h.Set(HeaderKeyID, keyID)
	h.Set(HeaderCipherType, CipherRSA)
	h.Set(HeaderDigestType, digest)
	h.Set(HeaderSignature, sig)
	h.Set(HeaderDate, dateValue)
	return h, nil
}

// SignRequest signs req in place (as MessageMedia would have sent it to req.URL over req.Proto, default HTTP/1.1), setting the five signing headers.
func SignRequest(req *provider.Request, priv *rsa.PrivateKey, keyID, digest string, date time.Time) error {
	proto := req.Proto
	if proto == "" {
		proto = fallbackProto
	}
	h, err := SignatureHeaders(priv, keyID, digest, RequestLine(req.Method, RequestURI(req.URL), proto), date, req.Body)
	if err != nil {
		return err
	}
	if req.Header == nil {
		req.Header = make(http.Header, len(h))
	}
	for name, values := range h {
		req.Header[name] = values
	}
	return nil
}

// SignHTTPRequest signs an outgoing *http.Request as sent on the wire (request-URI from r.URL.RequestURI(), HTTP/1.1), restoring its body.
func SignHTTPRequest(r *http.Request, priv *rsa.PrivateKey, keyID, digest string, date time.Time) error {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return fmt.Errorf("messagemedia: read body: %w", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet // net/http sends GET for an empty Method
	}
	h, err := SignatureHeaders(priv, keyID, digest, RequestLine(method, r.URL.RequestURI(), fallbackProto), date, body)
	if err != nil {
		return err
	}
	if r.Header == nil {
		r.Header = make(http.Header, len(h))
	}
	for name, values := range h {
		r.Header[name] = values
	}
	return nil
}
