package cli

import (
	"strings"
	"testing"

	"github.com/hookledger/hookledger/internal/buildinfo"
)

// A mistyped subcommand at any depth exits non-zero with a suggestion;
// before, a group command printed its help and exited 0.
func TestUnknownSubcommandSuggests(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"messagemedia", "keys", "craete"}, `unknown command "craete" for "hookledger messagemedia keys"; did you mean create?`},
		{[]string{"messagemedia", "kyes", "create"}, `unknown command "kyes" for "hookledger messagemedia"; did you mean keys?`},
		{[]string{"vonage", "enable-signed-callback"}, "did you mean enable-signed-callbacks?"},
		{[]string{"messagemedia", "keys", "rotate"}, `unknown command "rotate" for "hookledger messagemedia keys" (see hookledger messagemedia keys --help)`},
		{[]string{"rnu"}, `unknown command "rnu" for "hookledger"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0 for %q", tc.args)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
}

// A group command without a subcommand still shows its help.
func TestGroupCommandAloneShowsHelp(t *testing.T) {
	code, stdout, _ := runCLI(t, "messagemedia", "keys")
	if code != 0 || !strings.Contains(stdout, "Available Commands:") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
}

func TestVersion(t *testing.T) {
	want := buildinfo.Read().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if code, stdout, _ := runCLI(t, args...); code != 0 || stdout != want {
			t.Errorf("%v: exit %d, stdout %q, want %q", args, code, stdout, want)
		}
	}
}
