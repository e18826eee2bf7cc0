// Command snbridge is the MQTT broker and MQTT-SN gateway daemon.
//
//	snbridge [flags]             run the broker (no flags: embedded defaults, data in ./data)
//	snbridge passwd FILE USER    add or change USER's password in FILE (password from stdin)
package main
