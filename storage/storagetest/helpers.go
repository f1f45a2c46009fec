package storagetest

import (
	"context"
	stdbase64 "encoding/base64"
	"encoding/json"
	"testing"

	"github.com/hookledger/hookledger/storage"
)

func base64(b []byte) string { return stdbase64.StdEncoding.EncodeToString(b) }

func countRows(t *testing.T, s *storage.Store, q string) int {
	t.Helper()
	var n int
	err := s.Conn().Select(context.Background(), q, func(row []byte) error {
		var r struct{ N int }
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		n = r.N
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
