package natscluster

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/shardmq/shardmq/shards/cluster"
)

// A cluster-wide listing is a scatter-gather with a merged keyset cursor
// (docs/cluster.md says why): List asks every running node, this one
// included, for the number of its rows matching the filter and its first
// Skip+Limit rows above the cursor in key order ({name}.list.{node}), and
// merges them; an offset is first turned into a cursor (List). The count is exact as of each node's catalog when it
// answered; a page ends at a key, which is the cursor of the next.

// List returns one page of the cluster-wide listing q. A running node that
// does not answer within the request timeout is named in Page.Missing and
// its rows are left out. An offset (q.Skip) costs a first round that
// gathers only the keys of every node's first Skip rows, to turn the
// offset into a cursor. It waits on the network; any goroutine.
func (n *Node) List(ctx context.Context, q cluster.Query) (cluster.Page, error) {
	ctx, cancel := n.requestCtx(ctx)
	defer cancel()
	if q.Skip > 0 {
		keys, err := n.gather(ctx, cluster.Query{Filter: q.Filter, After: q.After, Limit: q.Skip, KeysOnly: true})
		if err != nil {
			return cluster.Page{}, err
		}
		skipped := keys.Rows
		if len(skipped) < q.Skip { // the offset is past the end
			keys.Rows = nil
			return keys, nil
		}
		q.After = skipped[q.Skip-1].Key
	}
	q.Skip = 0
	return n.gather(ctx, q)
}

// gather asks every running node and this one for q and merges the
// answers: the first q.Limit rows in key order, and the sum of the counts.
func (n *Node) gather(ctx context.Context, q cluster.Query) (cluster.Page, error) {
	req := appendQuery(nil, q)
	members := n.running()
	pages := make([]cluster.Page, 1+len(members))
	errs := make([]error, 1+len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := n.nc.RequestWithContext(ctx, n.subj.of("list", m.name), req)
			if err == nil {
				if e := reply.Header.Get(errHeader); e != "" {
					err = errRemoteList
				} else {
					pages[i+1], err = decodePage(reply.Data)
				}
			}
			errs[i+1] = err
		}()
	}
	pages[0], errs[0] = n.h.List(ctx, q)
	wg.Wait()
	if errs[0] != nil {
		return cluster.Page{}, errs[0]
	}
	var out cluster.Page
	for i, p := range pages {
		if errs[i] != nil {
			out.Missing = append(out.Missing, members[i-1].name)
			continue
		}
		out.Count += p.Count
	}
	out.Rows = mergeRows(pages, errs, q.Limit)
	slices.Sort(out.Missing)
	return out, nil
}

// mergeRows merges the pages' rows (each in ascending key order) and
// returns the first limit of the merge.
func mergeRows(pages []cluster.Page, errs []error, limit int) []cluster.Row {
	pos := make([]int, len(pages))
	out := make([]cluster.Row, 0, limit)
	for len(out) < limit {
		best := -1
		for i, p := range pages {
			if errs[i] != nil || pos[i] >= len(p.Rows) {
				continue
			}
			if best < 0 || bytes.Compare(p.Rows[pos[i]].Key, pages[best].Rows[pos[best]].Key) < 0 {
				best = i
			}
		}
		if best < 0 {
			break
		}
		out = append(out, pages[best].Rows[pos[best]])
		pos[best]++
	}
	return out
}

// onList answers this node's part of a listing.
func (n *Node) onList(msg *nats.Msg) {
	q, ok := decodeQuery(msg.Data)
	if !ok {
		respondErr(msg, errMalformed)
		return
	}
	ctx, cancel := n.requestCtx(context.Background())
	defer cancel()
	p, err := n.h.List(ctx, q)
	if err != nil {
		respondErr(msg, err)
		return
	}
	_ = msg.Respond(appendPage(nil, p))
}

func appendQuery(dst []byte, q cluster.Query) []byte {
	dst = append(dst, frameVersion)
	dst = appendString(dst, q.Filter)
	after := byte(0)
	if q.After != nil {
		after = 1
	}
	dst = append(dst, after)
	dst = appendString(dst, q.After)
	dst = binary.AppendUvarint(dst, uint64(q.Limit))
	keysOnly := byte(0)
	if q.KeysOnly {
		keysOnly = 1
	}
	return append(dst, keysOnly)
}

func decodeQuery(b []byte) (cluster.Query, bool) {
	r := newReader(b)
	if r.byte() != frameVersion {
		return cluster.Query{}, false
	}
	q := cluster.Query{Filter: r.bytes()}
	hasAfter := r.byte() == 1
	q.After = r.bytes()
	if hasAfter && q.After == nil {
		q.After = []byte{}
	}
	q.Limit = int(min(r.uvarint(), 1<<20))
	q.KeysOnly = r.byte() == 1
	return q, r.done()
}

func appendPage(dst []byte, p cluster.Page) []byte {
	dst = append(dst, frameVersion)
	dst = binary.AppendUvarint(dst, uint64(p.Count))
	for _, row := range p.Rows {
		dst = appendString(dst, row.Key)
		dst = appendString(dst, row.Data)
	}
	return dst
}

func decodePage(b []byte) (cluster.Page, error) {
	r := newReader(b)
	if r.byte() != frameVersion {
		return cluster.Page{}, errMalformed
	}
	p := cluster.Page{Count: int64(r.uvarint())}
	for !r.bad && r.off < len(r.b) {
		p.Rows = append(p.Rows, cluster.Row{Key: r.bytes(), Data: r.bytes()})
	}
	if !r.done() {
		return cluster.Page{}, errMalformed
	}
	return p, nil
}
