package spec

// Enabled returns the actions the model may take in s under cfg's bounds
// and switches, in a fixed order (operations by id, then new calls and
// retries by producer, then environment steps). [Step] accepts each.
func Enabled(cfg Config, s State) []Action {
	return AppendEnabled(nil, cfg, &s)
}

// AppendEnabled appends the actions [Enabled] returns for s to out and
// returns the extended slice: a model checker reuses one slice for
// every state it expands.
// enqueued reports whether every call of pid holds or held its ticket,
// or failed before it could reserve one (Broker.tla's Enqueued).
func (s *State) enqueued(pid int64) bool {
	for i := range s.Ops {
		if o := &s.Ops[i]; o.PID == pid && !o.Reserved && o.Phase != PhaseFailed {
			return false
		}
	}
	return true
}

func AppendEnabled(out []Action, cfg Config, s *State) []Action {
	if s.Sync != 0 {
		return s.syncActions(cfg, &s.Ops[s.op(s.Sync)], out)
	}
	for i := range s.Ops {
		o := &s.Ops[i]
		out = s.opActions(cfg, o, out)
	}
	for i := range s.Producers {
		p := &s.Producers[i]
		if cfg.AwaitEnqueued && !s.enqueued(p.PID) {
			continue
		}
		if int(p.Sent) < cfg.Batches {
			out = append(out, Action{Name: Replicate, Op: s.LastOp + 1, PID: p.PID, Epoch: p.Epoch, First: p.NextSeq, Last: p.NextSeq})
		}
		if int(p.Retries) >= cfg.MaxRetries {
			continue
		}
		for j := range s.Ops {
			o := &s.Ops[j]
			if o.PID != p.PID || o.Retried || (o.Epoch != p.Epoch && !cfg.OldEpochRetry) || o.Returned == NotReturned {
				continue
			}
			if res, _, _ := o.outcome(); o.Returned == ReturnedNormally && res == OK {
				continue
			}
			out = append(out, Action{Name: Replicate, Op: s.LastOp + 1, PID: p.PID, Epoch: o.Epoch, First: o.First, Last: o.Last})
		}
	}
	if int(s.Evictions) < cfg.MaxEvictions {
		for i := range s.Producers {
			if s.Producers[i].Known {
				out = append(out, Action{Name: EvictProducer, PID: s.Producers[i].PID})
			}
		}
	}
	if int(s.EpochBumps) < cfg.MaxEpochBumps {
		for i := range s.Producers {
			out = append(out, Action{Name: BumpEpoch, PID: s.Producers[i].PID, Epoch: s.Producers[i].Epoch + 1})
		}
	}
	if int(s.TermChanges) < cfg.MaxTermChanges {
		// The next term: Step accepts any higher one (a new leader may
		// skip terms), but which does not matter to any step.
		out = append(out, Action{Name: ChangeTerm, Term: s.Term + 1})
	}
	return out
}

// AppendOpEnabled appends the actions of operation op among those
// [Enabled] returns for s, in the same order, and returns the extended
// slice; nothing when op is not in s. A driver that chooses which
// operation moves next (internal/gen's workload) asks for that
// operation's steps alone instead of every action of the state.
func AppendOpEnabled(out []Action, cfg Config, s *State, op int64) []Action {
	if s.Sync != 0 {
		if op != s.Sync {
			return out
		}
		o := &s.Ops[s.op(s.Sync)]
		return s.syncActions(cfg, o, out)
	}
	i := s.op(op)
	if i < 0 {
		return out
	}
	return s.opActions(cfg, &s.Ops[i], out)
}

// syncActions appends the actions of op o inside its synchronous
// sequence: the next step of the sequence, or, on the tiered path, its
// decision.
func (s *State) syncActions(cfg Config, o *Op, out []Action) []Action {
	out = append(out, Action{Name: syncNext(cfg, o), Op: o.ID})
	if s.tiered(cfg, o) {
		dec, off := s.decide(cfg, &s.Producers[s.producer(o.PID)], o)
		out = append(out, Action{Name: Decide, Op: o.ID, Decision: dec, Offset: off})
	}
	return out
}

// opActions appends the actions of one operation.
func (s *State) opActions(cfg Config, o *Op, out []Action) []Action {
	id := o.ID
	results := func(n Name, canFail bool) {
		out = append(out, Action{Name: n, Op: id, Result: OK})
		if canFail {
			out = append(out, Action{Name: n, Op: id, Result: Failed})
		}
	}
	holds := o.Reserved && !o.Released
	switch o.Phase {
	case PhaseStaging:
		results(StageWriteDone, cfg.StageFailure)
	case PhaseStaged:
		if !o.Reserved {
			out = append(out, Action{Name: ReserveTicket, Op: id})
		} else {
			results(UploadDone, cfg.UploadFailure)
		}
	case PhaseUploaded:
		if p := &s.Producers[s.producer(o.PID)]; holds && p.Queue[0] == id {
			out = append(out, Action{Name: RedeemTicket, Op: id})
		}
		if holds && cfg.RedeemAbort {
			out = append(out, Action{Name: RedeemTicket, Op: id, Result: Failed})
		}
	case PhaseRedeemed:
		results(FenceEpoch, cfg.FenceFailure)
		if holds && cfg.bug(BugReleaseBeforeDecide) {
			out = append(out, Action{Name: ReleaseTicket, Op: id})
		}
	case PhaseFenced:
		switch {
		case o.Term != s.Term:
			if holds {
				out = append(out, Action{Name: ReleaseTicket, Op: id})
			}
		case !o.Released || cfg.bug(BugReleaseBeforeDecide):
			dec, off := s.decide(cfg, &s.Producers[s.producer(o.PID)], o)
			out = append(out, Action{Name: Decide, Op: id, Decision: dec, Offset: off})
		}
	case PhaseDecided, PhaseFailed:
		leak := o.Phase == PhaseFailed && cfg.bug(BugLeakTicket)
		if holds && !leak {
			out = append(out, Action{Name: ReleaseTicket, Op: id})
		} else if o.Returned == NotReturned {
			res, code, off := o.outcome()
			out = append(out, Action{Name: Return, Op: id, Result: res, Error: code, Offset: off})
		}
	}
	if cfg.ClientTimeout && o.Returned == NotReturned {
		out = append(out, Action{Name: Return, Op: id, Result: Unknown})
	}
	return out
}
