package redisclient

import (
	"net"
	"time"
)

func dialer() net.Dialer {
	return net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}
}
