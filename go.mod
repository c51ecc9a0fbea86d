module github.com/shardmq/shardmq

go 1.26
