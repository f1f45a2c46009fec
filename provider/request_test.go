package provider

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// pairs is an urlencoded string of n SignalWire-like parameters.
func pairs(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = "MediaUrl" + strconv.Itoa(i) + "=https%3A%2F%2Fmedia.example.com%2F" + strconv.Itoa(i)
	}
	return strings.Join(out, "&")
}

func TestCheckPayloadParamBound(t *testing.T) {
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	tests := []struct {
		name    string
		req     Request
		tooMany bool
		nParams int
	}{
		{name: "form at the bound", req: Request{Method: http.MethodPost, Header: form, Body: []byte(pairs(MaxParams))}, nParams: MaxParams},
		{name: "form over the bound", req: Request{Method: http.MethodPost, Header: form, Body: []byte(pairs(MaxParams + 1))}, tooMany: true},
		{name: "empty pairs count", req: Request{Method: http.MethodPost, Header: form, Body: []byte("a=1" + strings.Repeat("&", MaxParams))}, tooMany: true},
		{name: "GET query at the bound", req: Request{Method: http.MethodGet, URL: "https://h/x?" + pairs(MaxParams)}},
		{name: "GET query over the bound", req: Request{Method: http.MethodGet, URL: "https://h/x?" + pairs(MaxParams+1)}, tooMany: true},
		{name: "JSON body is not counted", req: Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"text":"` + strings.Repeat("&", 2*MaxParams) + `"}`)}},
		{name: "over the bound and undecodable: the bound is reported", req: Request{Method: http.MethodPost, Header: form, Body: []byte(pairs(MaxParams+1) + "&x=%zz")}, tooMany: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params, err := tc.req.CheckPayload()
			if got := errors.Is(err, ErrTooManyParams); got != tc.tooMany {
				t.Fatalf("CheckPayload error %v; want ErrTooManyParams %v", err, tc.tooMany)
			}
			if !tc.tooMany && err != nil {
				t.Fatalf("CheckPayload: %v", err)
			}
			if len(params) != tc.nParams {
				t.Fatalf("%d params, want %d", len(params), tc.nParams)
			}
		})
	}
}
