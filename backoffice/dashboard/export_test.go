package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// fileResponse is a ResponseWriter that writes the body to a file, so the
// test's own buffer does not count in the heap it measures.
type fileResponse struct {
	header http.Header
	status int
	file   *os.File
}

func (r *fileResponse) Header() http.Header         { return r.header }
func (r *fileResponse) WriteHeader(status int)      { r.status = status }
func (r *fileResponse) Write(p []byte) (int, error) { return r.file.Write(p) }

// peakHeap samples the live heap every 20 ms until stop is called, and
// returns the largest sample. Each sample follows a collection, so garbage
// the race detector's emptier sync.Pools leave behind does not count as
// live memory.
func peakHeap() (stop func() uint64) {
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var stats runtime.MemStats
		for {
			runtime.GC()
			runtime.ReadMemStats(&stats)
			peak = max(peak, stats.HeapAlloc)
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

func TestExportStreamsHundredThousandRows(t *testing.T) {
	const rows = 100_000
	f := newFixture(t, rows)
	path := filepath.Join(t.TempDir(), "report.xlsx")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	response := &fileResponse{header: http.Header{}, status: http.StatusOK, file: file}
	handler := f.handlers(cityStaff)

	// A low GC target keeps collected garbage out of the samples, so they
	// follow the live heap.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := peakHeap()
	handler.ServeHTTP(response, httptest.NewRequest(http.MethodGet, "/dashboard/enrolment/report.xlsx?kind=registration&group=shanghai_hukou,other_province,hmt_foreign,other", nil))
	peak := stop()
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	if response.status != http.StatusOK {
		body, _ := os.ReadFile(path)
		t.Fatalf("export status = %d %s, want 200", response.status, body)
	}

	// The stream writer keeps at most its 16 MiB chunk, which its buffer
	// may hold twice over while growing, plus the zip buffers.
	const bound = 64 << 20
	growth := int64(peak) - int64(before.HeapAlloc)
	t.Logf("heap before %d MiB, peak %d MiB", before.HeapAlloc>>20, peak>>20)
	if growth > bound {
		t.Errorf("heap grew by %d MiB while exporting %d rows, want at most %d MiB", growth>>20, rows, bound>>20)
	}

	book, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open exported workbook: %v", err)
	}
	defer book.Close()
	iterator, err := book.Rows("报表")
	if err != nil {
		t.Fatal(err)
	}
	var head []string
	count := 0
	for iterator.Next() {
		values, err := iterator.Columns()
		if err != nil {
			t.Fatal(err)
		}
		count++
		if count <= 13 {
			head = append(head, strings.Join(values, "|"))
		}
	}
	text := strings.Join(head, "\n")
	for _, want := range []string{"阶段|信息登记", "户籍大类|港澳台外、其他、外省市户籍、本市户籍", "区域|全市", "编号|阶段|区"} {
		if !strings.Contains(text, want) {
			t.Errorf("header rows lack %q:\n%s", want, text)
		}
	}
	// Title, time, nine filters, a blank row and the column headers come
	// before the data rows.
	if want := rows + 13; count != want {
		t.Errorf("workbook has %d rows, want %d", count, want)
	}
	if events := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = 'dashboard.enrolment_report.export'`); events != 1 {
		t.Errorf("audited exports = %d, want 1", events)
	}
}
