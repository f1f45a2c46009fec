package ingest

import (
	"net/http"

	"github.com/hookledger/hookledger/schema"
)

// Bounds of an audit record's metadata once its body prefix alone did not
// make it fit (see fitRecord). JSON may escape each byte into six, so
// they keep the metadata well under schema.RecordEnvelopeBytes.
const (
	fitFieldBytes  = 4 << 10 // URL and detail
	fitShortBytes  = 256     // source, method, remote address, a header's name
	fitHeaders     = 32
	fitHeaderBytes = 512 // all values of one header
)

// fitRecord encodes a rejection's audit record within MaxRecordBytes, so
// a forged request as large as the limits allow is audited too: a record
// over it keeps only the first AuditBodyPrefix bytes of its body
// (BodyTruncated; BodyBytes is still the size received), and if it is
// still over (enormous headers or URL), bounded URL, detail, headers and
// short fields, saying so in Detail. rec is not modified.
func (s *Server) fitRecord(rec *schema.Record) ([]byte, map[string]string, error) {
	value, headers, err := schema.EncodeRecord(rec)
	if err != nil || !s.overLimit(value, headers) {
		return value, headers, err
	}
	fit := *rec
	if len(fit.Body) > s.o.AuditBodyPrefix {
		fit.Body, fit.BodyTruncated = fit.Body[:s.o.AuditBodyPrefix], true
	}
	if value, headers, err = schema.EncodeRecord(&fit); err != nil || !s.overLimit(value, headers) {
		return value, headers, err
	}
	fit.Detail = cut(fit.Detail, fitFieldBytes) + " [audit record shortened to fit Kafka: URL, headers and fields cut]"
	fit.URL = cut(fit.URL, fitFieldBytes)
	fit.Source, fit.Method, fit.RemoteAddr = cut(fit.Source, fitShortBytes), cut(fit.Method, fitShortBytes), cut(fit.RemoteAddr, fitShortBytes)
	fit.Headers = boundedHeaders(fit.Headers)
	return schema.EncodeRecord(&fit)
}

func (s *Server) overLimit(value []byte, headers map[string]string) bool {
	return s.o.MaxRecordBytes > 0 && schema.RecordBytes(value, headers) > s.o.MaxRecordBytes
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// boundedHeaders keeps fitHeaders of the headers (in no particular
// order), each name and its values cut to their bounds.
func boundedHeaders(h http.Header) http.Header {
	out := make(http.Header, min(len(h), fitHeaders))
	for name, values := range h {
		if len(out) == fitHeaders {
			break
		}
		var kept []string
		budget := fitHeaderBytes
		for _, v := range values {
			if budget <= 0 {
				break
			}
			v = cut(v, budget)
			kept = append(kept, v)
			budget -= len(v)
		}
		out[cut(name, fitShortBytes)] = kept
	}
	return out
}
