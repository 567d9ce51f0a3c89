package records

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func entry(id string, footprint int, caller string) Entry {
	return Entry{RenderID: id, Footprint: footprint, Caller: caller, JoinedAt: 1}
}

func TestRendersJoinTheLineInOrderUpToItsBounds(t *testing.T) {
	s, _ := newStore(t)

	for i, e := range []Entry{entry("a", 5, "alice"), entry("b", 5, "bob"), entry("c", 5, "alice")} {
		if at, err := s.Join(ctx, e, 3, 2); err != nil || at != i+1 {
			t.Fatalf("join %s: position %d, %v; want %d", e.RenderID, at, err, i+1)
		}
	}
	if _, err := s.Join(ctx, entry("d", 5, "bob"), 3, 2); !errors.Is(err, ErrLineFull) {
		t.Errorf("a fourth render in a line of three: %v, want ErrLineFull", err)
	}
	s2, _ := newStore(t)
	s2.Join(ctx, entry("a", 5, "alice"), 10, 2)
	s2.Join(ctx, entry("b", 5, "alice"), 10, 2)
	if _, err := s2.Join(ctx, entry("c", 5, "alice"), 10, 2); !errors.Is(err, ErrLineFull) {
		t.Errorf("alice's third render with two a caller: %v, want ErrLineFull", err)
	}
	if at, err := s2.Join(ctx, entry("d", 5, "bob"), 10, 2); err != nil || at != 3 {
		t.Errorf("bob's first: %d, %v", at, err)
	}
}

// Only the head is admitted, once, and only while the budget has room; the
// capacity in use is the sum of what is held.
func TestTheHeadIsAdmittedOnceWithinTheBudget(t *testing.T) {
	s, now := newStore(t)
	s.Join(ctx, entry("a", 6, "alice"), 10, 0)
	s.Join(ctx, entry("b", 6, "bob"), 10, 0)
	l, _ := s.ReadLine(ctx)
	a, b := l.Queue[0], l.Queue[1]

	if ok, err := s.Admit(ctx, b, 10, *now); ok || err != nil {
		t.Errorf("admit b before a: %v, %v", ok, err)
	}
	if ok, err := s.Admit(ctx, a, 10, *now); !ok || err != nil {
		t.Fatalf("admit a: %v, %v", ok, err)
	}
	if ok, _ := s.Admit(ctx, a, 10, *now); ok {
		t.Error("a was admitted twice")
	}
	if ok, _ := s.Admit(ctx, b, 10, *now); ok {
		t.Error("b was admitted past the budget: 6 + 6 > 10")
	}
	if released, _ := s.GiveBack(ctx, "a"); !released {
		t.Error("a's hold was not given back")
	}
	if again, _ := s.GiveBack(ctx, "a"); again {
		t.Error("a's hold was given back twice")
	}
	if ok, err := s.Admit(ctx, b, 10, *now); !ok || err != nil {
		t.Errorf("b after a's release: %v, %v", ok, err)
	}
	l, _ = s.ReadLine(ctx)
	if l.InUse != 6 || len(l.Holds) != 1 || len(l.Queue) != 0 || l.PerCaller[b.Caller] != 0 {
		t.Errorf("line %+v", l)
	}
}

func TestConcurrentAdmissionsAdmitEachRenderOnce(t *testing.T) {
	s, now := newStore(t)
	for _, id := range []string{"a", "b", "c", "d"} {
		s.Join(ctx, entry(id, 2, "alice"), 10, 0)
	}
	var mu sync.Mutex
	admitted := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 4 {
				l, err := s.ReadLine(ctx)
				if err != nil || len(l.Queue) == 0 {
					return
				}
				if ok, _ := s.Admit(ctx, l.Queue[0], 100, *now); ok {
					mu.Lock()
					admitted[l.Queue[0].RenderID]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, id := range []string{"a", "b", "c", "d"} {
		if admitted[id] != 1 {
			t.Errorf("%s admitted %d times, want once: %v", id, admitted[id], admitted)
		}
	}
}

// A render whose start Lambda throttled goes back to the head, and the
// line waits; one that is cancelled leaves it from wherever it stands.
func TestAThrottledRenderReturnsToTheHeadAndACancelledOneLeaves(t *testing.T) {
	s, now := newStore(t)
	for _, id := range []string{"a", "b", "c"} {
		s.Join(ctx, entry(id, 2, "alice"), 10, 10)
	}
	l, _ := s.ReadLine(ctx)
	a := l.Queue[0]
	s.Admit(ctx, a, 10, *now)

	if ok, err := s.Return(ctx, a, now.Add(5*time.Second)); !ok || err != nil {
		t.Fatalf("return: %v, %v", ok, err)
	}
	if ok, _ := s.Admit(ctx, a, 10, *now); ok {
		t.Error("admitted while the line is paused")
	}
	if ok, _ := s.Admit(ctx, a, 10, now.Add(6*time.Second)); !ok {
		t.Error("not admitted once the pause is over")
	}
	if left, err := s.Leave(ctx, "c"); !left || err != nil {
		t.Errorf("leave c: %v, %v", left, err)
	}
	if left, _ := s.Leave(ctx, "a"); left {
		t.Error("a render that was admitted left the line")
	}
	l, _ = s.ReadLine(ctx)
	if l.Position("b") != 1 || l.Position("c") != 0 || l.InUse != 2 || l.PerCaller[a.Caller] != 1 {
		t.Errorf("line %+v", l)
	}
}

// Callers' counts are kept only where a bound needs them, and a caller
// with nothing in line is forgotten, so that the item does not grow with
// every caller there ever was.
func TestIdleCallersAreForgotten(t *testing.T) {
	s, now := newStore(t)
	s.Join(ctx, entry("a", 2, "alice"), 10, 0)
	if l, _ := s.ReadLine(ctx); len(l.PerCaller) != 0 {
		t.Errorf("counts without a bound: %v", l.PerCaller)
	}
	s.Join(ctx, entry("b", 2, "bob"), 10, 5)
	s.Join(ctx, entry("c", 2, "carol"), 10, 5)
	l, _ := s.ReadLine(ctx)
	s.Admit(ctx, l.Queue[0], 100, *now)
	s.Admit(ctx, l.Queue[1], 100, *now)

	l, _ = s.ReadLine(ctx)
	if err := s.ForgetIdleCallers(ctx, l); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.ReadLine(ctx); len(l.PerCaller) != 1 || l.PerCaller[callerHash("carol")] != 1 {
		t.Errorf("counts %v, want carol's alone", l.PerCaller)
	}
}
