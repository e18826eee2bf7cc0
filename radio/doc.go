// Package radio makes serial lines and XBee-style radios into net.PacketConn transports for the
// gateway: the serial port, frame codecs (XBee API 1/2, plain) and forwarder encapsulation.
package radio
