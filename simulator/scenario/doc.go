// Package scenario is the snsim scenario file: groups of virtual MQTT-SN sensors described in
// YAML, decoded strictly (an unknown key is an error naming the key and its line), completed with
// documented defaults and validated before anything runs.
//
// A minimal scenario:
//
//	duration: 30s
//	groups:
//	  - name: temp
//	    count: 100
//	    client_id: "temp-{index:04}"
//	    publish:
//	      topic: "site/{group}/{id}/temp"
//	      qos: 1
//	      interval: 1s
//	      jitter: 200ms
//
// Patterns (client ids, topics, payload templates) know {group}, {id} (the client id), {index}
// (within the group, from 0; {index:04} pads), {n} (across the scenario) and, in payload
// templates only, {seq}. Every payload starts with the checker's HeaderSize-byte header.
//
// Topics with topic_id_type predefined carry one fixed name per group; commands to actuators that
// share a topic are addressed through the payload header, and an actuator ignores the others'.
package scenario
