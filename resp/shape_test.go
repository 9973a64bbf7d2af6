package resp

import "testing"

func TestShapeAllows(t *testing.T) {
	for _, tc := range []struct {
		shape Shape
		reply string
		want  bool
	}{
		{BulkReply, "$1\r\nv\r\n", true},
		{BulkReply, "$-1\r\n", true},
		{BulkReply, "_\r\n", true},
		{BulkReply, "+OK\r\n", false},
		{BulkReply, ":1\r\n", false},
		{BulkReply, "-ERR x\r\n", true},
		{StatusReply, "+OK\r\n", true},
		{StatusReply, "$1\r\nv\r\n", true},
		{StatusReply, ":1\r\n", false},
		{IntReply, ":3\r\n", true},
		{IntReply, "+OK\r\n", false},
		{IntReply, "|1\r\n+a\r\n+b\r\n:3\r\n", true},
		{ArrayReply, "*0\r\n", true},
		{ArrayReply, "$1\r\nv\r\n", false},
		{AnyReply, "+OK\r\n", true},
	} {
		if got := tc.shape.Allows(tc.reply[0]); got != tc.want {
			t.Errorf("Shape(%d).Allows(%q) = %v; want %v", tc.shape, tc.reply, got, tc.want)
		}
	}
}
