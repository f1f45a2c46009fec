package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for people: one row per phase, then the
// correctness check. The README's Performance section explains the columns.
func (r *Report) WriteTable(w io.Writer) error {
	if err := r.WritePhases(w); err != nil {
		return err
	}
	r.WriteCheck(w)
	return nil
}

// WritePhases writes the table of phases and what goes with it.
func (r *Report) WritePhases(w io.Writer) error {
	fmt.Fprintf(w, "hookledger bench %s: %s, %d connections, %s per phase, %d-byte bodies",
		r.Started.Format("2006-01-02 15:04:05Z"), r.Ingest, r.Connections, r.Duration, r.BodyBytes)
	if r.Rate > 0 {
		fmt.Fprintf(w, ", open loop %.0f req/s", r.Rate)
	}
	if r.Smoke {
		fmt.Fprint(w, " (smoke: figures are not measurements)")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tserver\tload\tok\terrors\treq/s\t× base\tp50 ms\tp99 ms\tqueryable p50/p99 ms\tlag max/drain\tcpu s/1k\trss MB\t")
	for _, p := range r.Phases {
		load := fmt.Sprintf("%d conns", p.Connections)
		if p.Mode == "open" {
			load = fmt.Sprintf("%.0f/s open", p.TargetRate)
		}
		ok := fmt.Sprint(p.OK)
		if p.Exhausted {
			ok += "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.0f\t%s\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t\n",
			p.Name, p.Server, load, ok, p.Errors, p.ReqPerSec, ratio(p.VsBaseline), p.P50Ms, p.P99Ms,
			queryable(p), lagCell(p), opt(p.CPUPer1k, "%.2f"), opt(p.PeakRSSMB, "%.0f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.PeakRSSMB > 0 {
		fmt.Fprintf(w, "peak RSS of hookledger (pid %d) since its start: %.0f MB\n", r.PID, r.PeakRSSMB)
	}
	for _, p := range r.Phases {
		if p.Exhausted {
			fmt.Fprintln(w, "* the prepared requests ran out before the phase's duration; req/s is still ok ÷ elapsed")
			break
		}
	}
	for _, p := range r.Phases {
		if p.FirstError != "" {
			fmt.Fprintf(w, "%s/%s errors %v, first: %s\n", p.Name, p.Server, p.ErrorsBy, p.FirstError)
		}
	}
	return nil
}

// WriteCheck writes the correctness verdict and the notes.
func (r *Report) WriteCheck(w io.Writer) {
	if c := r.Check; c != nil {
		verdict := "OK"
		if !c.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(w, "check %s: %d acknowledged; GET %d: %d missing, %d duplicated; ", verdict, c.Acknowledged, c.GetChecked, c.GetMissing, c.GetDuplicated)
		if c.ListsSkipped {
			fmt.Fprint(w, "lists skipped (more ids than --list-limit)")
		} else {
			fmt.Fprintf(w, "lists: %d missing, %d duplicated, %d stored but unacknowledged", c.ListMissing, c.ListDuplicated, c.ListUnacknowledged)
		}
		fmt.Fprintf(w, "; stats: %d messages for %d acknowledged\n", c.StatsMessages, c.AckedMessages)
		for _, p := range c.Problems {
			fmt.Fprintln(w, "  ", p)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func ratio(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", v)
}

func opt(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func queryable(p Phase) string {
	if p.QueryableSamples == 0 {
		return "-"
	}
	s := fmt.Sprintf("%.0f/%.0f (n=%d)", p.QueryableP50Ms, p.QueryableP99Ms, p.QueryableSamples)
	if p.QueryableLost > 0 {
		s += fmt.Sprintf(" %d lost", p.QueryableLost)
	}
	return s
}

func lagCell(p Phase) string {
	if p.LagUnknown {
		return "-"
	}
	return fmt.Sprintf("%.0f/%.0fms", p.MaxLag, p.DrainMs)
}
