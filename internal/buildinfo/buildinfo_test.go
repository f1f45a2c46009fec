package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want Info
	}{
		{
			name: "tagged clean build",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "fdf3028aa"}, {Key: "vcs.modified", Value: "false"},
			}},
			want: Info{Version: "v1.2.3", Revision: "fdf3028aa", GoVersion: "go1.26.8"},
		},
		{
			name: "dirty work tree",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201171141-fdf3028aa+dirty"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "fdf3028aa"}, {Key: "vcs.modified", Value: "true"},
			}},
			want: Info{Version: "v0.0.0-20261201171141-fdf3028aa+dirty", Revision: "fdf3028aa+dirty", GoVersion: "go1.26.8"},
		},
		{
			name: "go test: no VCS stamp",
			bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: Info{Version: "(devel)", Revision: "unknown", GoVersion: "go1.26.8"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromBuildInfo(&tc.bi); got != tc.want {
				t.Errorf("fromBuildInfo = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The image sets version and revision at link time (-ldflags -X): they win
// over what the toolchain recorded (nothing, without .git in the context).
func TestLinkedOverrides(t *testing.T) {
	recorded := Info{Version: "(devel)", Revision: "unknown", GoVersion: "go1.26.8"}
	for _, tc := range []struct {
		version, revision string
		want              Info
	}{
		{"", "", recorded},
		{"v1.2.3", "fdf3028", Info{Version: "v1.2.3", Revision: "fdf3028", GoVersion: "go1.26.8"}},
		{"v1.2.3", "", Info{Version: "v1.2.3", Revision: "unknown", GoVersion: "go1.26.8"}},
	} {
		if got := recorded.linked(tc.version, tc.revision); got != tc.want {
			t.Errorf("linked(%q, %q) = %+v, want %+v", tc.version, tc.revision, got, tc.want)
		}
	}
}
