package backends

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// Server.Close while dialSlot's dial is in progress: Close sets the slot's error and nils its
// connection, then settleLocked installs the new connection anyway. The closed server keeps a
// live connection (never closed: its reader, writer and socket leak) and serves calls sent
// after Close instead of failing them with ErrClosed.
func TestCloseDuringDialLeavesNoConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // a tiny Redis: +OK to every line
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				r := bufio.NewReader(nc)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					nc.Write([]byte("+OK\r\n"))
				}
			}()
		}
	}()
	inDial, release := make(chan struct{}), make(chan struct{})
	opts := &Options{Framer: lineFramer, Conns: 1, Handshake: func(net.Conn, int, time.Duration) error {
		close(inDial)
		<-release
		return nil
	}}
	s := NewServer(l.Addr().String(), "r", opts)
	first := NewCall()
	first.Req = append(first.Req, "PING\r\n"...)
	s.Send(first, LaneRESP2, 0)
	<-inDial
	s.Close()
	close(release)
	first.Wait()

	after := NewCall()
	after.Req = append(after.Req, "PING\r\n"...)
	s.Send(after, LaneRESP2, 0)
	after.Wait()
	if after.Err == nil || s.Connected() {
		t.Fatalf("after Close: call err = %v, Connected() = %v; want ErrClosed and no connection",
			after.Err, s.Connected())
	}
}
