module github.com/chdb-io/chdb-go/v2

go 1.21

require (
	github.com/ebitengine/purego v0.10.1
	golang.org/x/sys v0.49.0
)
