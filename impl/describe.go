package impl

import (
	"fmt"
	"sort"
	"strings"
)

// Describe renders the frontend's state as text, with sorted keys, for
// golden files and debugging: per partition its term, log length,
// producers' idempotency state and producer queues, then every unfinished
// op with its phase.
func (f *Frontend) Describe() string {
	var b strings.Builder
	byTicket := make(map[*Ticket]int64)
	var open []int64
	for id, o := range f.ops {
		if o.ticket != nil {
			byTicket[o.ticket] = id
		}
		if o.phase != PhaseDone {
			open = append(open, id)
		}
	}
	sort.Slice(open, func(i, j int) bool { return open[i] < open[j] })
	for _, name := range f.partNames {
		p := f.parts[name]
		fmt.Fprintf(&b, "partition %s term=%d log=%d\n", name, p.term, p.log.End())
		for _, pid := range p.producers.pids() {
			st := p.producers.m[pid]
			fmt.Fprintf(&b, "  producer %d epoch=%d finished=[", pid, st.epoch)
			for i, r := range st.finished {
				if i > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%d-%d@%d", r.first, r.last, r.offset)
			}
			b.WriteString("]")
			b.WriteByte('\n')
		}
		var qpids []int64
		for pid := range p.queue.tails {
			qpids = append(qpids, pid)
		}
		sort.Slice(qpids, func(i, j int) bool { return qpids[i] < qpids[j] })
		for _, pid := range qpids {
			var chain []string
			for t := p.queue.tails[pid]; t != nil; t = t.prev {
				s := fmt.Sprintf("op %d", byTicket[t])
				if t.Ready() || t.redeemed {
					s += " (head)"
				}
				chain = append(chain, s)
			}
			for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
				chain[i], chain[j] = chain[j], chain[i]
			}
			fmt.Fprintf(&b, "  queue pid=%d: %s\n", pid, strings.Join(chain, ", "))
		}
	}
	for _, id := range open {
		o := f.ops[id]
		fmt.Fprintf(&b, "op %d %s pid=%d epoch=%d seq=[%d,%d] phase=%s", id, o.part.name, o.batch.PID, o.batch.Epoch, o.batch.First, o.batch.Last, o.phase)
		switch {
		case o.ticket == nil:
			b.WriteString(" ticket=none")
		case o.ticket.Ready():
			b.WriteString(" ticket=ready")
		default:
			b.WriteString(" ticket=waiting")
		}
		if o.returned {
			b.WriteString(" returned")
		}
		b.WriteByte('\n')
	}
	return b.String()
}
