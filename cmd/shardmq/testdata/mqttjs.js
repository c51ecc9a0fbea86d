// MQTT.js client for transport_test.go: connects to the URL (ws:// or wss://) with MQTT 3.1.1,
// publishes MESSAGE to echo/TOPIC and waits for it to come back through its own subscription,
// then publishes it to TOPIC, prints "ok" and disconnects. CA, if given, is the PEM file that
// the server's certificate must verify against.
//
//   node mqttjs.js URL TOPIC MESSAGE [CA]
const fs = require('fs');
const mqtt = require('mqtt');

const [url, topic, message, caFile] = process.argv.slice(2);
const opts = { clientId: 'mqttjs-' + process.pid, protocolVersion: 4, connectTimeout: 5000, reconnectPeriod: 0 };
if (caFile) {
  opts.ca = fs.readFileSync(caFile);
  opts.rejectUnauthorized = true;
}
setTimeout(() => { console.error('mqttjs: timed out'); process.exit(2); }, 15000).unref();
const client = mqtt.connect(url, opts);
client.on('error', (err) => { console.error('mqttjs: ' + err.message); process.exit(1); });
client.on('connect', () => {
  client.subscribe('echo/' + topic, { qos: 1 }, (err) => {
    if (err) { console.error('mqttjs: subscribe: ' + err.message); process.exit(1); }
    client.publish('echo/' + topic, message, { qos: 1 });
  });
});
client.on('message', (t, payload) => {
  if (t !== 'echo/' + topic || payload.toString() !== message) return;
  client.publish(topic, message, { qos: 1 }, () => {
    console.log('ok');
    client.end(false, () => process.exit(0));
  });
});
