// Package buildinfo reports what a hookledger binary was built from: the
// module version, the VCS revision and the Go version, as the Go toolchain
// recorded them (runtime/debug.ReadBuildInfo), or as a build outside a VCS
// checkout (the Docker image: its context has no .git) set them at link
// time:
//
//	go build -ldflags "-X github.com/hookledger/hookledger/internal/buildinfo.version=v1.2.3 \
//	  -X github.com/hookledger/hookledger/internal/buildinfo.revision=fdf3028" ./cmd/hookledger
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes one build. Fields the toolchain did not record are
// "unknown" (Revision, e.g. under `go test` or with -buildvcs=false), never
// empty.
type Info struct {
	// Version is the main module's version: a tag, a pseudo-version, or
	// "(devel)".
	Version string
	// Revision is the VCS commit, with "+dirty" when the work tree had
	// uncommitted changes.
	Revision string
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// version and revision are set with -ldflags -X by builds that know them
// better than the toolchain does (see the package comment); empty
// otherwise. They never change at run time.
var version, revision string

// Read returns the running binary's build information.
func Read() Info {
	info := Info{Version: "unknown", Revision: "unknown", GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info = fromBuildInfo(bi)
	}
	return info.linked(version, revision)
}

// linked is i with the link-time version and revision, where set.
func (i Info) linked(version, revision string) Info {
	if version != "" {
		i.Version = version
	}
	if revision != "" {
		i.Revision = revision
	}
	return i
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "unknown", Revision: "unknown", GoVersion: bi.GoVersion}
	if bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && info.Revision != "unknown" && !strings.HasSuffix(info.Revision, "+dirty") {
		info.Revision += "+dirty"
	}
	return info
}

// String is the one line `hookledger version` prints.
func (i Info) String() string {
	return "hookledger " + i.Version + " (revision " + i.Revision + ", " + i.GoVersion + ")"
}
