package records

import (
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

func usd(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// Estimates are committed under the limits; what renders cost replaces
// them, exactly, however many small amounts are added.
func TestTheLedgerKeepsExactAmountsUnderItsLimits(t *testing.T) {
	s, now := newStore(t)
	at := *now

	for range 3 {
		if over, err := s.Commit(ctx, "alice", at, usd("0.1"), usd("0.3"), nil); err != nil || over != nil {
			t.Fatalf("commit: %+v, %v", over, err)
		}
	}
	over, err := s.Commit(ctx, "alice", at, usd("0.1"), usd("0.3"), nil)
	if !errors.Is(err, ErrOverLimit) || over == nil || over.Exposure != "0.3" {
		t.Errorf("a fourth estimate past 0.3: %+v, %v", over, err)
	}
	for range 3 {
		if err := s.Settle(ctx, "alice", at, usd("0.1"), usd("0.0012"), "USD"); err != nil {
			t.Fatal(err)
		}
	}

	days, err := s.Days(ctx, "alice", Day(at), Day(at))
	if err != nil || len(days) != 1 {
		t.Fatalf("days %+v, %v", days, err)
	}
	if d := days[0]; d.Spent != "0.0036" || d.Committed != "0" || d.Exposure != "0.0036" || d.Renders != 3 || d.Currency != "USD" {
		t.Errorf("alice's day: %+v", d)
	}
	if month, _ := s.ReadMonth(ctx, Month(at)); month.Spent != "0.0036" {
		t.Errorf("the month: %+v", month)
	}
	if all, _ := s.Days(ctx, "", Day(at), Day(at)); len(all) != 1 || all[0].Caller != "alice" {
		t.Errorf("everyone's days: %+v", all)
	}
	if renders, _, _ := s.List(ctx, "alice", 10, ""); len(renders) != 0 {
		t.Errorf("spend listed as renders: %+v", renders)
	}
}

// Concurrent starts cannot together slip past a limit.
func TestConcurrentCommitsStayWithinTheLimit(t *testing.T) {
	s, now := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 20 {
		wg.Go(func() {
			if over, err := s.Commit(ctx, "alice", *now, usd("0.05"), nil, usd("0.5")); err == nil && over == nil {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if taken != 10 {
		t.Errorf("%d of 20 estimates of 0.05 taken under a limit of 0.5, want 10", taken)
	}
	if d, _ := s.Days(ctx, "alice", Day(*now), Day(*now)); len(d) != 1 || d[0].Exposure != "0.5" {
		t.Errorf("alice's day %+v: the month's refusals must give the day's estimates back", d)
	}
}

// Each day starts afresh.
func TestADailyLimitResetsTheNextDay(t *testing.T) {
	s, now := newStore(t)
	s.Commit(ctx, "alice", *now, usd("1"), usd("1"), nil)

	if _, err := s.Commit(ctx, "alice", *now, usd("1"), usd("1"), nil); !errors.Is(err, ErrOverLimit) {
		t.Errorf("the same day: %v", err)
	}
	if _, err := s.Commit(ctx, "alice", now.Add(24*time.Hour), usd("1"), usd("1"), nil); err != nil {
		t.Errorf("the next day: %v", err)
	}
}
