// etcd-txn: the etcd side of bench:cluster's transaction workloads (packages/bench/src/etcd/go_txn.ts
// builds and runs it). etcd's own benchmark tool has an `stm` command, but it retries an aborted
// transaction until it commits and times the whole; the comparison needs one attempt per
// transaction, aborts counted apart. So this is a small closed-loop driver over clientv3, in Go
// like the tool (a Node generator costs 200-300 us of CPU per gRPC call and would limit etcd).
//
// The transactions are the etcd STM pattern, one attempt each:
//
//	txn1:    Txn{ success: put k }                       (an STM that only writes: no read set,
//	                                                      nothing to compare)
//	txn4rmw: Txn{ success: range k1..k4 }                (linearizable, one revision)
//	         Txn{ compare: mod_revision(ki) == read ki's (0: absent), for each ki;
//	              success: put k1..k4; failure: nothing }  not succeeded = an abort
//
// Keys are the harness's ("bench/%08d"), picked uniformly at random (4 distinct ones for
// txn4rmw), values random bytes of --val-size. --clients goroutines share --conns clientv3
// clients (client i uses connection i mod conns, connection j endpoint j mod len(endpoints), as
// the benchmark tool does). A warm-up, then the measured period: a transaction counts in the
// period it completes in. Output on stdout, one line each: "phase measure" when the measured
// period starts, "phase end" when it ends, then "result {json}".
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	mrand "math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	v3 "go.etcd.io/etcd/clientv3"
)

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseAfter
	phaseStop
)

var phase int32

type latency struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

type result struct {
	Committed       int64   `json:"committed"`
	Aborted         int64   `json:"aborted"`
	Errors          int64   `json:"errors"`
	WarmupCommitted int64   `json:"warmupCommitted"`
	WarmupAborted   int64   `json:"warmupAborted"`
	WarmupErrors    int64   `json:"warmupErrors"`
	ErrorSample     string  `json:"errorSample"`
	MeasuredS       float64 `json:"measuredS"`
	CPUS            float64 `json:"cpuS"`
	LatencyMs       latency `json:"latencyMs"`
}

type loop struct {
	committed, aborted, errors                   int64
	warmupCommitted, warmupAborted, warmupErrors int64
	errorSample                                  string
	lat                                          []float64
}

// nearestRank is the p-th percentile of sorted values, nearest rank (as the harness and the tool).
func nearestRank(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return -1
	}
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated endpoints; connection j uses endpoint j mod their count")
	clients := flag.Int("clients", 1, "concurrent transaction loops")
	conns := flag.Int("conns", 1, "clientv3 connections shared by the loops")
	workload := flag.String("workload", "txn1", "txn1 | txn4rmw")
	keys := flag.Int("keys", 20000, "key space size")
	prefix := flag.String("key-prefix", "bench/", "key prefix")
	width := flag.Int("key-width", 8, "digits of the key index")
	valSize := flag.Int("val-size", 100, "value size, bytes")
	warmup := flag.Duration("warmup", 3*time.Second, "warm-up")
	duration := flag.Duration("duration", 10*time.Second, "measured period")
	timeout := flag.Duration("timeout", 10*time.Second, "deadline of one transaction")
	dial := flag.Duration("dial-timeout", 10*time.Second, "dial timeout")
	flag.Parse()

	nKeys := 1
	switch *workload {
	case "txn1":
	case "txn4rmw":
		nKeys = 4
	default:
		fmt.Fprintf(os.Stderr, "unknown --workload %q\n", *workload)
		os.Exit(2)
	}
	if *clients < 1 || *conns < 1 || *keys < nKeys || *valSize < 0 {
		fmt.Fprintln(os.Stderr, "bad --clients, --conns, --keys or --val-size")
		os.Exit(2)
	}
	if *conns > *clients {
		*conns = *clients
	}

	names := make([]string, *keys)
	for i := range names {
		names[i] = fmt.Sprintf("%s%0*d", *prefix, *width, i)
	}
	values := make([]string, 16)
	for i := range values {
		b := make([]byte, *valSize)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		values[i] = string(b)
	}

	eps := strings.Split(*endpoints, ",")
	cs := make([]*v3.Client, *conns)
	for j := range cs {
		c, err := v3.New(v3.Config{Endpoints: []string{eps[j%len(eps)]}, DialTimeout: *dial})
		if err != nil {
			fmt.Fprintf(os.Stderr, "connect to %s: %v\n", eps[j%len(eps)], err)
			os.Exit(1)
		}
		cs[j] = c
	}

	op := func(c *v3.Client, ks []string, vi int) (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		puts := make([]v3.Op, len(ks))
		for i, k := range ks {
			puts[i] = v3.OpPut(k, values[(vi+i)&15])
		}
		if nKeys == 1 {
			_, err := c.Txn(ctx).Then(puts...).Commit()
			return err == nil, err
		}
		gets := make([]v3.Op, len(ks))
		for i, k := range ks {
			gets[i] = v3.OpGet(k)
		}
		rr, err := c.Txn(ctx).Then(gets...).Commit()
		if err != nil {
			return false, err
		}
		cmps := make([]v3.Cmp, len(ks))
		for i, k := range ks {
			var rev int64
			if r := rr.Responses[i].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
				rev = r.Kvs[0].ModRevision
			}
			cmps[i] = v3.Compare(v3.ModRevision(k), "=", rev)
		}
		tr, err := c.Txn(ctx).If(cmps...).Then(puts...).Commit()
		if err != nil {
			return false, err
		}
		return tr.Succeeded, nil
	}

	loops := make([]*loop, *clients)
	var wg sync.WaitGroup
	for i := range loops {
		l := &loop{}
		loops[i] = l
		c := cs[i%len(cs)]
		rnd := mrand.New(mrand.NewSource(time.Now().UnixNano() + int64(i)*7919))
		wg.Add(1)
		go func(seq int) {
			defer wg.Done()
			ks := make([]string, nKeys)
			idx := make([]int, nKeys)
			for vi := seq; atomic.LoadInt32(&phase) != phaseStop; vi++ {
				for n := 0; n < nKeys; {
					x := rnd.Intn(*keys)
					dup := false
					for _, y := range idx[:n] {
						dup = dup || y == x
					}
					if !dup {
						idx[n] = x
						ks[n] = names[x]
						n++
					}
				}
				t0 := time.Now()
				ok, err := op(c, ks, vi)
				ms := float64(time.Since(t0).Nanoseconds()) / 1e6
				switch atomic.LoadInt32(&phase) {
				case phaseWarmup:
					if err != nil {
						l.warmupErrors++
					} else if ok {
						l.warmupCommitted++
					} else {
						l.warmupAborted++
					}
				case phaseMeasure:
					if err != nil {
						l.errors++
					} else if ok {
						l.committed++
						l.lat = append(l.lat, ms)
					} else {
						l.aborted++
					}
				}
				if err != nil {
					if l.errorSample == "" {
						l.errorSample = err.Error()
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}(i)
	}

	time.Sleep(*warmup)
	cpu0 := cpuSeconds()
	t0 := time.Now()
	atomic.StoreInt32(&phase, phaseMeasure)
	fmt.Println("phase measure")
	time.Sleep(*duration)
	atomic.StoreInt32(&phase, phaseAfter)
	measured := time.Since(t0).Seconds()
	cpu1 := cpuSeconds()
	fmt.Println("phase end")
	atomic.StoreInt32(&phase, phaseStop)
	wg.Wait()
	for _, c := range cs {
		c.Close()
	}

	r := result{MeasuredS: measured, CPUS: cpu1 - cpu0}
	var all []float64
	for _, l := range loops {
		r.Committed += l.committed
		r.Aborted += l.aborted
		r.Errors += l.errors
		r.WarmupCommitted += l.warmupCommitted
		r.WarmupAborted += l.warmupAborted
		r.WarmupErrors += l.warmupErrors
		if r.ErrorSample == "" {
			r.ErrorSample = l.errorSample
		}
		all = append(all, l.lat...)
	}
	sort.Float64s(all)
	lat := latency{Count: int64(len(all))}
	if len(all) > 0 {
		sum := 0.0
		for _, x := range all {
			sum += x
		}
		lat.Mean = sum / float64(len(all))
		lat.Min = all[0]
		lat.Max = all[len(all)-1]
		lat.P50 = nearestRank(all, 50)
		lat.P90 = nearestRank(all, 90)
		lat.P99 = nearestRank(all, 99)
		lat.P999 = nearestRank(all, 99.9)
	}
	r.LatencyMs = lat
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	fmt.Printf("result %s\n", b)
}
