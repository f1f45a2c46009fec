package chdb_test

import (
	"testing"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/storage"
	"github.com/hookledger/hookledger/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Store { return testinfra.Store(t) })
}

func TestMain(m *testing.M) { testinfra.Main(m) }
