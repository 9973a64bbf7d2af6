package respserver

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/discoh/discoh/backends"
	"github.com/discoh/discoh/resp"
)

// Redis's side of the servers' connections: how its replies are framed and how a new connection
// is prepared. (memcached's is in memcache.go.)

// Framer frames Redis replies, RESP2 or RESP3. kind is the resp.Shape the call's reply
// must have: a reply of another type means replies and calls are out of step on the connection.
func Framer(buf []byte, kind uint8) (int, error) {
	n, err := resp.ScanReply(buf)
	if n > 0 && !resp.Shape(kind).Allows(buf[0]) {
		return 0, fmt.Errorf("%w: %q cannot answer the request (replies out of step)", backends.ErrOutOfStep, clipReply(buf[:n]))
	}
	return n, err
}

// Handshake prepares a new Redis connection: HELLO 3 on the RESP3 lane, and AUTH with
// password when the pool has one (twemproxy's redis_auth).
func Handshake(password string) func(nc net.Conn, lane int, timeout time.Duration) error {
	return func(nc net.Conn, lane int, timeout time.Duration) error {
		var req []byte
		switch {
		case lane == backends.LaneRESP3 && password != "":
			req = resp.AppendCommand(req, []byte("HELLO"), []byte("3"), []byte("AUTH"), []byte("default"), []byte(password))
		case lane == backends.LaneRESP3:
			req = resp.AppendCommand(req, []byte("HELLO"), []byte("3"))
		case password != "":
			req = resp.AppendCommand(req, []byte("AUTH"), []byte(password))
		default:
			return nil
		}
		return roundTrip(nc, req, timeout)
	}
}

// roundTrip sends one request and reads its reply, failing on an error reply.
func roundTrip(nc net.Conn, req []byte, timeout time.Duration) error {
	if timeout > 0 {
		nc.SetDeadline(time.Now().Add(timeout))
		defer nc.SetDeadline(time.Time{})
	}
	if _, err := nc.Write(req); err != nil {
		return err
	}
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if size, serr := resp.ScanReply(buf); serr != nil || size > 0 {
			if serr != nil {
				return serr
			}
			if resp.IsError(buf) {
				return errors.New(string(buf[1 : size-2]))
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// clipReply shortens a reply quoted in an error.
func clipReply(b []byte) []byte { return b[:min(len(b), 32)] }
