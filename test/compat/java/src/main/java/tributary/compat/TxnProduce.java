package tributary.compat;

import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes records in one committed transaction (the console producer has no transactions).
 * Usage: TxnProduce --bootstrap-server <bs> <topic> <transactional.id> <value>...
 */
public final class TxnProduce {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[1]);
    p.put("transactional.id", args[3]);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.initTransactions();
      producer.beginTransaction();
      for (int i = 4; i < args.length; i++) producer.send(new ProducerRecord<>(args[2], null, args[i]));
      producer.commitTransaction();
    }
    System.out.println("committed " + (args.length - 4));
  }
}
