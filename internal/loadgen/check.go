package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Check is the correctness verdict: every acknowledged id is queryable,
// exactly once, by its own endpoint and in its list.
type Check struct {
	Acknowledged int `json:"acknowledged"`
	// GET /v1/messages/{id} or /v1/calls/{id}: checked (all, or a sample),
	// missing (404 after the grace period), duplicated (more than one
	// event for the one callback sent, or another id answered).
	GetChecked    int `json:"get_checked"`
	GetMissing    int `json:"get_missing"`
	GetDuplicated int `json:"get_duplicated"`
	// Lists (/v1/messages, /v1/calls by source): every acknowledged id of
	// the run must appear exactly once.
	ListMissing    int `json:"list_missing"`
	ListDuplicated int `json:"list_duplicated"`
	// ListUnacknowledged counts ids of this run that are stored but were
	// never answered 200 (the client gave up first): not an error.
	ListUnacknowledged int `json:"list_unacknowledged"`
	// ListsSkipped: more acknowledged ids than the list limit. A list page
	// costs as much as aggregating every message, so paging hundreds of
	// thousands of ids takes longer than the run.
	ListsSkipped bool `json:"lists_skipped,omitempty"`
	// /v1/stats/messages since the run started, summed over the providers
	// messages were sent to, against the acknowledged message ids: fewer
	// means some are missing; more, duplicates or someone else's traffic.
	StatsMessages int      `json:"stats_messages"`
	AckedMessages int      `json:"acked_messages"`
	Problems      []string `json:"problems,omitempty"`
	OK            bool     `json:"ok"`
}

func (c *Check) problem(format string, args ...any) {
	if len(c.Problems) < 10 {
		c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
	}
}

// checkGrace is how long a missing id is retried after the processor lag
// reached zero (rows can be counted as stored a moment before the query
// API sees them).
const checkGrace = 30 * time.Second

// check verifies acked against the query API. getLimit bounds how many ids
// are fetched one by one (0: all); listLimit how many are counted in the
// lists (0: all), beyond which lists are skipped.
func check(ctx context.Context, q *queryClient, acked []Acked, nonce string, since time.Time, getLimit, listLimit int) (*Check, error) {
	c := &Check{Acknowledged: len(acked)}
	toGet := acked
	if getLimit > 0 && len(acked) > getLimit {
		toGet = make([]Acked, 0, getLimit)
		step := float64(len(acked)) / float64(getLimit)
		for i := range getLimit {
			toGet = append(toGet, acked[int(float64(i)*step)])
		}
	}
	c.GetChecked = len(toGet)
	if err := checkEach(ctx, q, toGet, c); err != nil {
		return nil, err
	}
	if listLimit > 0 && len(acked) > listLimit {
		c.ListsSkipped = true
	} else if err := checkLists(ctx, q, acked, nonce, since, c); err != nil {
		return nil, err
	}
	if err := checkStats(ctx, q, acked, since, c); err != nil {
		return nil, err
	}
	if c.StatsMessages < c.AckedMessages {
		c.problem("/v1/stats/messages counts %d messages since the run started, %d were acknowledged", c.StatsMessages, c.AckedMessages)
	}
	c.OK = c.GetMissing == 0 && c.GetDuplicated == 0 && c.ListMissing == 0 && c.ListDuplicated == 0 &&
		c.StatsMessages >= c.AckedMessages
	return c, nil
}

// checkEach fetches every request's object, retrying the missing ones
// for checkGrace.
func checkEach(ctx context.Context, q *queryClient, reqs []Acked, c *Check) error {
	deadline := time.Now().Add(checkGrace)
	pending := reqs
	for {
		var mu sync.Mutex
		var missing []Acked
		var firstErr error
		work := make(chan Acked)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for r := range work {
					var obj tracked
					status, err := q.get(ctx, objectPath(r), &obj)
					mu.Lock()
					switch {
					case err != nil:
						firstErr = err
					case status == http.StatusNotFound:
						missing = append(missing, r)
					case status != http.StatusOK:
						firstErr = fmt.Errorf("loadgen: GET %s: HTTP %d", objectPath(r), status)
					case obj.id() != r.ID || len(obj.Events) != 1:
						c.GetDuplicated++
						c.problem("%s %s: answered id %q with %d events, want 1", r.Scenario, r.ID, obj.id(), len(obj.Events))
					}
					mu.Unlock()
				}
			})
		}
		for _, r := range pending {
			work <- r
		}
		close(work)
		wg.Wait()
		if firstErr != nil {
			return firstErr
		}
		if len(missing) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			c.GetMissing = len(missing)
			for _, r := range missing {
				c.problem("%s %s: acknowledged but not queryable", r.Scenario, r.ID)
			}
			return nil
		}
		pending = missing
		time.Sleep(time.Second)
	}
}

// listPage is one page of /v1/messages or /v1/calls.
type listPage struct {
	Items      []tracked `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// checkLists pages through the lists of every benchmarked source and
// counts this run's ids.
func checkLists(ctx context.Context, q *queryClient, acked []Acked, nonce string, since time.Time, c *Check) error {
	type list struct {
		kind     Kind
		provider string
	}
	want := map[list]map[string]Acked{}
	for _, r := range acked {
		l := list{r.Kind, r.Provider}
		if want[l] == nil {
			want[l] = map[string]Acked{}
		}
		want[l][r.ID] = r
	}
	for l, ids := range want {
		seen := map[string]int{}
		coll := "messages"
		if l.kind == KindCall {
			coll = "calls"
		}
		v := url.Values{"provider": {l.provider}, "since": {since.UTC().Format(time.RFC3339)}, "limit": {"1000"}}
		for {
			var page listPage
			path := "/v1/" + coll + "?" + v.Encode()
			status, err := q.get(ctx, path, &page)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("loadgen: GET %s: HTTP %d", path, status)
			}
			for _, it := range page.Items {
				if strings.Contains(it.id(), nonce) {
					seen[it.id()]++
				}
			}
			if page.NextCursor == "" {
				break
			}
			v.Set("cursor", page.NextCursor)
		}
		for id, r := range ids {
			switch n := seen[id]; {
			case n == 0:
				c.ListMissing++
				c.problem("%s %s: acknowledged but not in /v1/%s", r.Scenario, id, coll)
			case n > 1:
				c.ListDuplicated++
				c.problem("%s %s: listed %d times in /v1/%s", r.Scenario, id, n, coll)
			}
		}
		for id := range seen {
			if _, ok := ids[id]; !ok {
				c.ListUnacknowledged++
			}
		}
	}
	return nil
}

// checkStats sums the message counts of /v1/stats/messages since the run
// started over the providers the run sent messages to.
func checkStats(ctx context.Context, q *queryClient, acked []Acked, since time.Time, c *Check) error {
	providers := map[string]bool{}
	for _, a := range acked {
		if a.Kind == KindMessage {
			c.AckedMessages++
			providers[a.Provider] = true
		}
	}
	var stats struct {
		Buckets []struct {
			Key    string         `json:"key"`
			Counts map[string]int `json:"counts"`
		} `json:"buckets"`
	}
	v := url.Values{"since": {since.UTC().Format(time.RFC3339)}, "interval": {"day"}, "group_by": {"provider"}}
	path := "/v1/stats/messages?" + v.Encode()
	status, err := q.get(ctx, path, &stats)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("loadgen: GET %s: HTTP %d", path, status)
	}
	for _, b := range stats.Buckets {
		if providers[b.Key] {
			for _, n := range b.Counts {
				c.StatsMessages += n
			}
		}
	}
	return nil
}
