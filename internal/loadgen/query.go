package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// queryClient reads hookledger's query API.
type queryClient struct {
	base, token string
	client      *http.Client
}

// get fetches path and decodes a 200 answer into out.
func (q *queryClient) get(ctx context.Context, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+q.token)
	resp, err := q.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("loadgen: decode %s: %w", path, err)
		}
	}
	return resp.StatusCode, nil
}

// objectPath is where the query API shows what r reports on.
func objectPath(r Acked) string {
	coll := "messages"
	if r.Kind == KindCall {
		coll = "calls"
	}
	return "/v1/" + coll + "/" + url.PathEscape(r.ID) + "?provider=" + url.QueryEscape(r.Provider)
}

// tracked is the part of a message or call the check reads.
type tracked struct {
	MessageID string            `json:"message_id"`
	CallID    string            `json:"call_id"`
	Events    []json.RawMessage `json:"events"`
}

func (t tracked) id() string { return t.MessageID + t.CallID }

// sampler measures callback→queryable: it picks an acknowledged request
// at most every `every` and polls its object until the query API has it.
type sampler struct {
	q     *queryClient
	every time.Duration
	poll  time.Duration
	next  atomic.Int64
	work  chan sample
	wg    sync.WaitGroup

	mu        sync.Mutex
	latencies []time.Duration
	lost      int // not queryable within the poll timeout
}

type sample struct {
	r  *Request
	at time.Time
}

// sampleTimeout bounds how long one sample is polled.
const sampleTimeout = 60 * time.Second

func newSampler(ctx context.Context, q *queryClient, every, poll time.Duration, pollers int) *sampler {
	s := &sampler{q: q, every: every, poll: poll, work: make(chan sample, 64)}
	for range pollers {
		s.wg.Go(func() {
			for smp := range s.work {
				s.measure(ctx, smp)
			}
		})
	}
	return s
}

// offer is called with every acknowledged request; it samples some.
func (s *sampler) offer(r *Request, at time.Time) {
	next := s.next.Load()
	if at.UnixNano() < next || !s.next.CompareAndSwap(next, at.Add(s.every).UnixNano()) {
		return
	}
	select {
	case s.work <- sample{r, at}:
	default: // pollers busy: skip rather than slow the load down
	}
}

func (s *sampler) measure(ctx context.Context, smp sample) {
	path := objectPath(smp.r.Acked)
	for ctx.Err() == nil {
		status, _ := s.q.get(ctx, path, nil)
		if status == http.StatusOK {
			lat := time.Since(smp.at)
			s.mu.Lock()
			s.latencies = append(s.latencies, lat)
			s.mu.Unlock()
			return
		}
		if time.Since(smp.at) > sampleTimeout {
			break
		}
		time.Sleep(s.poll)
	}
	s.mu.Lock()
	s.lost++
	s.mu.Unlock()
}

// finish waits for the samples in hand and returns the latencies.
func (s *sampler) finish() ([]time.Duration, int) {
	close(s.work)
	s.wg.Wait()
	return s.latencies, s.lost
}
