// Package frontendtest holds what tests of a protocol's sessions need from package frontend.
package frontendtest

// Client is a frontend.Client for tests of sessions dispatched by hand: an event loop serves it
// until Moved is set (a goroutine serves it after), and Kept returns Keep.
type Client struct {
	Moved bool
	Keep  any
}

func (*Client) RemoteAddr() string         { return "127.0.0.1:1" }
func (*Client) Watch(func()) (stop func()) { return func() {} }
func (c *Client) Looped() bool             { return !c.Moved }
func (*Client) ID() uint64                 { return 1 }
func (c *Client) Kept() any                { return c.Keep }
