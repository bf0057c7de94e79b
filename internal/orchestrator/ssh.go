package orchestrator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sshDialer reaches a remote engine the way the docker CLI does: `ssh host docker system
// dial-stdio`, with the process's stdin/stdout as the connection.
func sshDialer(u *url.URL, extra []string) (func(ctx context.Context, network, addr string) (net.Conn, error), error) {
	if u.Hostname() == "" {
		return nil, &ConnectError{Summary: "Invalid Docker host", Advice: fmt.Sprintf("%q names no ssh host", u.String())}
	}
	if u.Path != "" && u.Path != "/" {
		return nil, &ConnectError{Summary: "Invalid Docker host", Advice: "an ssh:// host takes no path; use ssh://user@host:port"}
	}
	args := append([]string{}, extra...)
	if u.User != nil && u.User.Username() != "" {
		args = append(args, "-l", u.User.Username())
	}
	if p := u.Port(); p != "" {
		args = append(args, "-p", p)
	}
	args = append(args, "--", u.Hostname(), "docker", "system", "dial-stdio")
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		// The process must outlive the dial context: it carries the whole connection.
		cmd := exec.Command("ssh", args...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		// A pipe of our own rather than StdoutPipe: Wait runs as soon as ssh exits, and must
		// not close what is still to be read.
		stdout, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		stderr := &tailBuffer{limit: sshStderrLimit}
		cmd.Stdout, cmd.Stderr = w, stderr
		// A process ssh leaves behind (a control master) must not hold Wait up.
		cmd.WaitDelay = sshExitWait
		err = cmd.Start()
		_ = w.Close()
		if err != nil {
			_ = stdout.Close()
			return nil, &ConnectError{Summary: "Cannot start ssh", Advice: "an ssh:// host needs the ssh client on PATH", Err: err}
		}
		c := &cmdConn{cmd: cmd, r: stdout, w: stdin, stderr: stderr, exited: make(chan struct{})}
		go func() {
			c.waitErr = cmd.Wait()
			close(c.exited)
		}()
		return c, nil
	}, nil
}

const (
	// sshStderrLimit bounds what is kept of what ssh writes to stderr: its last lines.
	sshStderrLimit = 4 << 10
	// sshStderrLines is how many of those lines an error shows.
	sshStderrLines = 5
	// sshExitWait bounds the wait for ssh to exit once its output ended, to read its status.
	sshExitWait = 5 * time.Second
)

// sshError is an ssh:// connection that ended because ssh did: its exit status and the last
// lines it wrote to stderr, which say why (a refused host key or key, a refused connection,
// docker missing on the remote host).
type sshError struct {
	status error
	stderr string
}

func (e *sshError) Error() string {
	msg := "ssh ended with " + e.status.Error()
	if e.stderr != "" {
		msg += ": " + e.stderr
	}
	return msg
}

// transient says whether the failure may go away by itself: the host's sshd refusing
// connections while the host restarts, or the remote dockerd not answering while it restarts.
// A refused key or host key, or a missing docker, stays.
func (e *sshError) transient() bool {
	s := strings.ToLower(e.stderr)
	return strings.Contains(s, "connection refused") || strings.Contains(s, "connection reset") ||
		strings.Contains(s, "cannot connect to the docker daemon")
}

type cmdConn struct {
	cmd    *exec.Cmd
	r      *os.File
	w      io.WriteCloser
	stderr *tailBuffer
	// exited is closed once ssh has exited, with waitErr its status.
	exited  chan struct{}
	waitErr error
	once    sync.Once
	closed  atomic.Bool
}

func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil {
		err = c.ended(err)
	}
	return n, err
}

func (c *cmdConn) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		err = c.ended(err)
	}
	return n, err
}

// ended turns the end of ssh's output, or a write it no longer takes, into ssh's own account
// of why, once it has exited with a failure. A connection closed by us, or ended by the remote
// side with ssh exiting cleanly, keeps its error.
func (c *cmdConn) ended(err error) error {
	if c.closed.Load() {
		return err
	}
	timer := time.NewTimer(sshExitWait)
	defer timer.Stop()
	select {
	case <-c.exited:
	case <-timer.C:
		return err
	}
	if c.waitErr == nil {
		return err
	}
	return &sshError{status: c.waitErr, stderr: c.stderr.lastLines(sshStderrLines)}
}

func (c *cmdConn) Close() error {
	c.once.Do(func() {
		c.closed.Store(true)
		_ = c.w.Close()
		if c.cmd.Process != nil {
			_ = c.cmd.Process.Kill()
		}
		<-c.exited
		_ = c.r.Close()
	})
	return nil
}
func (c *cmdConn) LocalAddr() net.Addr              { return dummyAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr             { return dummyAddr{} }
func (c *cmdConn) SetDeadline(time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(time.Time) error { return nil }

type dummyAddr struct{}

func (dummyAddr) Network() string { return "ssh" }
func (dummyAddr) String() string  { return "ssh" }

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte
	limit int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines is the last n lines that are not blank, without a line cut off by the limit.
func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(bytes.TrimSpace(t.buf)), "\n")
	if len(t.buf) >= t.limit && len(lines) > 1 {
		lines = lines[1:] // the first may have lost its beginning
	}
	var keep []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}
