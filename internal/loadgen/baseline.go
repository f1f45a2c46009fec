package loadgen

import (
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
)

// baseline is the bare Echo server every hookledger figure is compared
// with: same client, same requests, on its own loopback port, doing
// nothing but read the body and answer 200. It runs in the benchmark's
// process.
type baseline struct {
	srv *http.Server
	url string
}

func startBaseline() (*baseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("loadgen: baseline: %w", err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Any("/*", func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.JSONBlob(http.StatusOK, []byte(`{"id":"baseline"}`))
	})
	b := &baseline{srv: &http.Server{Handler: e}, url: "http://" + ln.Addr().String()}
	// Serve returns only when stopped; a failure before shows up as the
	// baseline phase's transport errors.
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

func (b *baseline) stop() { _ = b.srv.Close() }
