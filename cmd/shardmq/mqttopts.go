package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/shardmq/shardmq/shards"
)

// mqttFlags are broker-wide MQTT settings that are not per zone.
var mqttFlags struct {
	sysInterval         time.Duration
	shareStrategy       string
	responseInformation string
}

func init() {
	flag.DurationVar(&mqttFlags.sysInterval, "sys-interval", time.Minute,
		"how often $SYS/brokers/{node}/... topics are published; 0 turns them off")
	flag.StringVar(&mqttFlags.shareStrategy, "shared-subscription-strategy", "round_robin",
		"how one member of a $share group is chosen: round_robin, random, hash_clientid or sticky")
	flag.StringVar(&mqttFlags.responseInformation, "response-information", "",
		"Response Information sent to MQTT 5 clients that request it (the base of their response topics); empty sends none")
	extensions = append(extensions, extension{configure: func(a *app) error {
		// checkConfig has validated both values (exit 2 naming the key).
		st, err := shards.ParseShareStrategy(mqttFlags.shareStrategy)
		if err != nil {
			return fmt.Errorf("shared-subscription-strategy: %w", err)
		}
		a.cfg.Index.ShareStrategy = st
		a.cfg.SysInterval = mqttFlags.sysInterval
		if a.cfg.SysInterval == 0 {
			a.cfg.SysInterval = -1 // shards: negative turns $SYS off
		}
		a.cfg.ResponseInformation = mqttFlags.responseInformation
		return nil
	}})
}
