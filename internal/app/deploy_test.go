package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// deployDir holds the Prometheus rules and the Grafana dashboard.
const deployDir = "../../deploy"

// TestDeployRules: the alert rules load (`promtool check rules`) and fire
// as their unit tests say (`promtool test rules`).
func TestDeployRules(t *testing.T) {
	rules := filepath.Join(deployDir, "prometheus", "alerts.yml")
	promtool(t, nil, "check", "rules", rules)
	promtool(t, nil, "test", "rules", filepath.Join(deployDir, "prometheus", "alerts_test.yml"))
}

// deployExprs is every PromQL expression of the alert rules and the
// dashboard, keyed by where it is.
func deployExprs(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Record, Expr string
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(deployDir, "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			exprs["alerts.yml "+r.Alert+r.Record] = r.Expr
		}
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	b, err = os.ReadFile(filepath.Join(deployDir, "grafana", "hookledger.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("hookledger.json: %v", err)
	}
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			exprs["hookledger.json "+p.Title+" "+string(rune('A'+i))] = tg.Expr
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions found in deploy/: the files' layout changed?", len(exprs))
	}
	return exprs
}

// grafanaRange stands in for Grafana's interval variables, which are not
// PromQL.
var grafanaRange = map[string]string{"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}

// checkDeployReferences parses every expression of the rules and the
// dashboard and fails for each metric name that families (a real scrape)
// does not export, counting a histogram's _bucket, _sum and _count series.
func checkDeployReferences(t *testing.T, families map[string]*dto.MetricFamily) {
	exported := map[string]bool{}
	for name, f := range families {
		exported[name] = true
		if f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY {
			exported[name+"_sum"], exported[name+"_count"] = true, true
		}
		if f.GetType() == dto.MetricType_HISTOGRAM {
			exported[name+"_bucket"] = true
		}
	}
	p := parser.NewParser(parser.Options{})
	var where []string
	exprs := deployExprs(t)
	for w := range exprs {
		where = append(where, w)
	}
	sort.Strings(where)
	for _, w := range where {
		src := exprs[w]
		for v, r := range grafanaRange {
			src = strings.ReplaceAll(src, v, r)
		}
		expr, err := p.ParseExpr(src)
		if err != nil {
			t.Errorf("%s: %v\n%s", w, err, src)
			continue
		}
		names := 0
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				names++
				if !exported[vs.Name] {
					t.Errorf("%s: %s is not a metric hookledger exports", w, vs.Name)
				}
			}
			return nil
		})
		if names == 0 {
			t.Errorf("%s names no metric: %s", w, src)
		}
	}
}
