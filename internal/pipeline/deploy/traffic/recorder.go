package traffic

import (
	"net/http"
	"sync"
)

// recorder notes the status a response was sent with. Unwrap lets
// http.ResponseController (which ReverseProxy uses to flush and to hijack
// for protocol upgrades) reach the real writer.
type recorder struct {
	http.ResponseWriter
	status int
}

var recorders = sync.Pool{New: func() any { return new(recorder) }}

func getRecorder(w http.ResponseWriter) *recorder {
	r := recorders.Get().(*recorder)
	r.ResponseWriter, r.status = w, 0
	return r
}

func putRecorder(r *recorder) {
	r.ResponseWriter = nil
	recorders.Put(r)
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap returns the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush sends buffered data to the client.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}
