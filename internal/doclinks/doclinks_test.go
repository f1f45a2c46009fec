package doclinks

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

const root = "../.."

var (
	// mdLink is a Markdown link target: [text](target).
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// docRef is a reference to a page of docs/ in any source file.
	docRef = regexp.MustCompile(`docs/[a-z0-9-]+\.md(#[A-Za-z0-9_-]+)?`)
	// heading is a Markdown ATX heading outside code blocks.
	heading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
)

// TestLinksResolve checks every relative link of the Markdown files and
// every docs/*.md reference in code, scripts, SQL and config comments.
func TestLinksResolve(t *testing.T) {
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		a, err := headingAnchors(path)
		if err != nil {
			a = nil
		}
		anchors[path] = a
		return a
	}
	check := func(from, target string) error {
		file, frag, _ := strings.Cut(target, "#")
		path := filepath.Clean(file)
		if !strings.HasSuffix(path, ".md") {
			// Other targets (openapi.yaml, directories, code) are not
			// checked: only pages and their headings are.
			return nil
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %s: no such file", from, target)
		}
		if frag != "" && !anchorsOf(path)[frag] {
			return fmt.Errorf("%s: %s: %s has no heading with anchor #%s", from, target, file, frag)
		}
		return nil
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == "third_party" || name == "testdata" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(name)
		switch ext {
		case ".md", ".go", ".sql", ".sh", ".yaml", ".yml":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(b)
		if ext == ".md" {
			for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				if strings.HasPrefix(target, "#") {
					target = name + target
				}
				if e := check(path, filepath.Join(filepath.Dir(path), target)); e != nil {
					t.Error(e)
				}
			}
			return nil
		}
		for _, ref := range docRef.FindAllString(text, -1) {
			if e := check(path, filepath.Join(root, ref)); e != nil {
				t.Error(e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// headingAnchors lists the anchors GitHub gives the headings of a Markdown
// file: lower case, spaces to hyphens, punctuation but '-' and '_'
// dropped, repeats numbered -1, -2, ...
func headingAnchors(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	seen := map[string]int{}
	inCode := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode = !inCode
			continue
		}
		m := heading.FindStringSubmatch(line)
		if inCode || m == nil {
			continue
		}
		slug := slugify(m[1])
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out, sc.Err()
}

func slugify(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"The `data_dir` and its lock":     "the-data_dir-and-its-lock",
		"`GET /v1/stats/messages`":        "get-v1statsmessages",
		"sources[].messagemedia":          "sourcesmessagemedia",
		"Durability: `kafka.sync_writes`": "durability-kafkasync_writes",
		"Record format (version 2)":       "record-format-version-2",
		"Provider → normalised status":    "provider--normalised-status",
	} {
		if got := slugify(in); got != want {
			t.Errorf("slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
