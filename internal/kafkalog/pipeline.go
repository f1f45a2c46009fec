package kafkalog

import "context"

// pipeline hands fetched batches to the handler, up to n at once, and
// commits them in the order they were fetched: a batch's offsets are
// committed only once it and every batch fetched before it were stored, so
// a crash redelivers exactly what may not have been stored. After a batch
// that was not stored (shutdown), nothing later is committed.
type pipeline struct {
	c      *Consumer
	handle Handler
	ctx    context.Context
	slots  chan struct{}  // one per batch fetched and not yet committed
	queue  chan *inFlight // batches in fetch order, for the committer
	done   chan struct{}  // closed when the committer has finished
}

type inFlight struct {
	batch  []Fetched
	stored chan bool
}

func newPipeline(ctx context.Context, c *Consumer, handle Handler, n int) *pipeline {
	p := &pipeline{c: c, handle: handle, ctx: ctx, slots: make(chan struct{}, n),
		queue: make(chan *inFlight, n), done: make(chan struct{})}
	go p.commitInOrder()
	return p
}

// submit starts handling batch once fewer than n batches are in flight. It
// reports false when ctx ended first; the batch is then redelivered later.
func (p *pipeline) submit(batch []Fetched) bool {
	select {
	case p.slots <- struct{}{}:
	case <-p.ctx.Done():
		return false
	}
	f := &inFlight{batch: batch, stored: make(chan bool, 1)}
	p.queue <- f
	go func() { f.stored <- p.c.handleWithRetry(p.ctx, p.handle, batch) }()
	return true
}

// drain waits until every submitted batch was stored and committed (or
// given up at shutdown).
func (p *pipeline) drain() {
	for range cap(p.slots) {
		p.slots <- struct{}{}
	}
	for range cap(p.slots) {
		<-p.slots
	}
}

// close waits for the batches in flight and commits those stored.
func (p *pipeline) close() {
	close(p.queue)
	<-p.done
}

func (p *pipeline) commitInOrder() {
	defer close(p.done)
	stopped := false
	for f := range p.queue {
		stored := <-f.stored
		stopped = stopped || !stored
		if !stopped {
			if err := p.c.commit(f.batch); err != nil {
				// Not fatal: the batch is stored; a redelivery is absorbed
				// by deduplication.
				p.c.o.Logger.Warn("kafka commit failed", "topic", p.c.o.Topic, "err", err)
			}
		}
		<-p.slots
	}
}
