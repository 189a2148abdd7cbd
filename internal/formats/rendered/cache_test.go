package rendered

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheRendersOnce(t *testing.T) {
	c := NewCache[string, int](2)
	var renders atomic.Int32
	release := make(chan struct{})
	render := func(context.Context) (int, error) {
		renders.Add(1)
		<-release
		return 7, nil
	}
	var wg sync.WaitGroup
	results := make([]int, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Get(context.Background(), "k", render)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		}()
	}
	// Hold the render until it is under way; callers that come after it
	// finishes find the value cached, so there is one render either way.
	deadline := time.Now().Add(10 * time.Second)
	for renders.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no render started")
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if v, _ := c.Get(context.Background(), "k", render); v != 7 {
		t.Errorf("cached value %d", v)
	}
	if n := renders.Load(); n != 1 {
		t.Errorf("rendered %d times, want 1", n)
	}
	for i, v := range results {
		if v != 7 {
			t.Errorf("caller %d got %d", i, v)
		}
	}
}

func TestCache(t *testing.T) {
	errBoom := errors.New("boom")
	// step gets key from a cache that renders value (or err); renders
	// counts the renders so far.
	type step struct {
		key     string
		value   int
		err     error
		renders int32
	}
	for name, steps := range map[string][]step{
		"hit":                           {{"a", 1, nil, 1}, {"a", 1, nil, 1}},
		"errors are not cached":         {{"a", 0, errBoom, 1}, {"a", 1, nil, 2}, {"a", 1, nil, 2}},
		"least recently used out first": {{"a", 1, nil, 1}, {"b", 1, nil, 2}, {"a", 1, nil, 2}, {"c", 1, nil, 3}, {"a", 1, nil, 3}, {"b", 1, nil, 4}},
	} {
		t.Run(name, func(t *testing.T) {
			c := NewCache[string, int](2)
			var renders atomic.Int32
			for i, s := range steps {
				v, err := c.Get(context.Background(), s.key, func(context.Context) (int, error) {
					renders.Add(1)
					return s.value, s.err
				})
				if v != s.value || !errors.Is(err, s.err) || renders.Load() != s.renders {
					t.Fatalf("step %d (%s): %d, %v after %d renders; want %d, %v after %d",
						i, s.key, v, err, renders.Load(), s.value, s.err, s.renders)
				}
			}
		})
	}
}

func TestCacheCallerGivesUp(t *testing.T) {
	c := NewCache[string, int](2)
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := c.Get(ctx, "k", func(rctx context.Context) (int, error) {
			close(started)
			cancel() // the starting caller hangs up: the render goes on
			<-release
			return 3, rctx.Err()
		})
		first <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "k", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("waiter with a cancelled context: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("render saw its starter's cancellation: %v", err)
	}
	if v, err := c.Get(context.Background(), "k", nil); v != 3 || err != nil {
		t.Errorf("after the render: %d, %v", v, err)
	}
}

func TestNewCachePanicsOnZero(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewCache(0) did not panic")
		}
	}()
	NewCache[string, int](0)
}
