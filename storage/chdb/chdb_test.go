package chdb_test

import (
	"testing"

	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Store { return chdbtest.Store(t) })
}

func TestMain(m *testing.M) { chdbtest.Main(m) }
