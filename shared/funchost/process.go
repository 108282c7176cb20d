package funchost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// handlerProcess is a started custom handler.
type handlerProcess struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
	tail    *tailBuffer
	closing chan struct{} // closed by stopHandler
}

// startHandler starts (or, with HandlerURL, finds) the handler and waits
// until it answers GET /.
func (h *Host) startHandler(ctx context.Context) error {
	if h.opts.HandlerURL != "" {
		h.handlerURL = strings.TrimRight(h.opts.HandlerURL, "/")
		start := time.Now()
		if err := h.waitReady(ctx, nil); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrHandlerStart, h.handlerURL, err)
		}
		h.readyAfter = time.Since(start)
		return nil
	}
	argv, dir, err := h.command()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("%w: pick a port: %v", ErrHandlerStart, err)
	}
	h.handlerURL = "http://127.0.0.1:" + strconv.Itoa(port)

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for k, v := range h.settings {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if h.storConn != "" {
		cmd.Env = append(cmd.Env, "AzureWebJobsStorage="+h.storConn)
	}
	cmd.Env = append(cmd.Env, "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	tail := &tailBuffer{max: 16 << 10}
	cmd.Stdout = io.MultiWriter(orDiscard(h.opts.Stdout), tail)
	cmd.Stderr = io.MultiWriter(orDiscard(h.opts.Stderr), tail)
	cmd.WaitDelay = 2 * time.Second // grandchildren holding the pipes
	p := &handlerProcess{cmd: cmd, done: make(chan struct{}), tail: tail, closing: make(chan struct{})}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: %v", ErrHandlerStart, err)
	}
	h.handler = p
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	h.log.Debug("handler started", "command", strings.Join(argv, " "), "port", port, "pid", cmd.Process.Pid)
	if err := h.waitReady(ctx, p.done); err != nil {
		return fmt.Errorf("%w: %s: %v; its output ends:\n%s", ErrHandlerStart, strings.Join(argv, " "), err, tail.String())
	}
	h.readyAfter = time.Since(start)
	h.exited = make(chan error, 1)
	go func() {
		select {
		case <-p.done:
			select {
			case <-p.closing: // stopped by Close
				return
			default:
			}
			h.log.Error("handler exited", "err", p.waitErr)
			h.exited <- p.waitErr
		case <-p.closing:
		}
	}()
	return nil
}

// command returns the handler's argv and working directory.
func (h *Host) command() ([]string, string, error) {
	root := h.app.Root
	ch := h.app.Host.CustomHandler
	dir := root
	if ch.WorkingDirectory != "" {
		dir = ch.WorkingDirectory
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
	}
	if len(h.opts.Command) > 0 {
		argv := append([]string(nil), h.opts.Command...)
		if strings.ContainsRune(argv[0], filepath.Separator) || strings.ContainsRune(argv[0], '/') {
			if abs, err := filepath.Abs(argv[0]); err == nil {
				argv[0] = abs
			}
		}
		return argv, dir, nil
	}
	if ch.DefaultExecutablePath == "" {
		return nil, "", fmt.Errorf("%w: host.json has no customHandler.description.defaultExecutablePath and no command was given", ErrHandlerStart)
	}
	exe, err := expandSettings(ch.DefaultExecutablePath, h.lookup)
	if err != nil {
		return nil, "", fmt.Errorf("%w: defaultExecutablePath: %v", ErrSetting, err)
	}
	if !filepath.IsAbs(exe) {
		if p := filepath.Join(root, exe); isFile(p) {
			exe = p
		} else if p, err := exec.LookPath(exe); err == nil {
			exe = p
		} else {
			return nil, "", fmt.Errorf("%w: handler %q is neither in %s nor on PATH", ErrHandlerStart, exe, root)
		}
	}
	argv := []string{exe}
	for _, a := range ch.Arguments {
		v, err := expandSettings(a, h.lookup)
		if err != nil {
			return nil, "", fmt.Errorf("%w: customHandler arguments: %v", ErrSetting, err)
		}
		argv = append(argv, v)
	}
	return argv, dir, nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady sends GET / until any HTTP answer arrives, the process exits
// (exited closes), ctx ends or StartTimeout passes.
func (h *Host) waitReady(ctx context.Context, exited <-chan struct{}) error {
	deadline := time.NewTimer(h.opts.StartTimeout)
	defer deadline.Stop()
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.handlerURL+"/", nil)
		if err != nil {
			return err
		}
		resp, err := probe.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			return nil
		}
		last = err
		select {
		case <-exited:
			return errors.New("it exited before answering GET /")
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("no answer to GET / within %s (last: %v)", h.opts.StartTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopHandler stops the handler process: SIGTERM, then kill after 5 s.
func (h *Host) stopHandler() error {
	p := h.handler
	if p == nil {
		return nil
	}
	select {
	case <-p.closing:
		return nil
	default:
		close(p.closing)
	}
	select {
	case <-p.done:
		return nil // already gone (reported through HandlerExited)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		h.log.Warn("handler ignored SIGTERM: killing it")
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
